package pbx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeAgents plays the engine for a queue test: it answers offers after a
// short ring, keeps agents busy for a moment and hangs up, reporting every
// fact to the core as the SIP engine would.
func serveWaiter(c *Core, w *Waiter, stop <-chan struct{}, answerProb float64) {
	for {
		select {
		case <-stop:
			w.Leave("caller")
			return
		case o := <-w.Offers():
			if o.Exit != nil {
				return
			}
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
			if rand.Float64() < answerProb {
				agent := o.Agents[rand.IntN(len(o.Agents))]
				if w.RingResult(agent, "SIP/"+agent+"-x", nil) {
					time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
					w.Leave("callee")
					return
				}
				continue
			}
			w.RingResult("", "", o.Agents)
		}
	}
}

// TestQueueConcurrentChurn drives joins, leaves, pauses, logins and
// registrations from many goroutines at once (run with -race) and checks
// the core ends consistent with no goroutines left behind.
func TestQueueConcurrentChurn(t *testing.T) {
	before := runtime.NumGoroutine()
	var agents []string
	for i := range 20 {
		agents = append(agents, fmt.Sprint(300+i))
	}
	var members []QueueMemberEntry
	for _, a := range agents[:10] {
		members = append(members, QueueMemberEntry{Number: a})
	}
	c, ql := queueCore(t, QueueEntry{Name: "Q", Number: "7000", Strategy: StrategyRRMemory, Members: members, JoinEmpty: true}, agents...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				ch, _, err := c.NewCall("a", "500", "7000", false, ChannelSpec{Peer: "500", Dir: Inbound, CallerIDNum: fmt.Sprint(g*100 + i)})
				if err != nil {
					t.Error(err)
					return
				}
				w, exit, err := c.QueueJoin("a", "Q", ch)
				if err != nil || exit != nil {
					t.Errorf("join %v %v", err, exit)
					return
				}
				serveWaiter(c, w, stop, 0.7)
				_, _ = c.EndCall(context.Background(), "a", ch.CallID, EndAnswer, Quality{})
			}
		}()
	}
	wg.Add(1)
	go func() { // agents come and go
		defer wg.Done()
		for i := range 300 {
			a := agents[rand.IntN(len(agents))]
			switch i % 4 {
			case 0:
				_, _ = c.QueuePause("a", "Q", a, rand.IntN(2) == 0, "churn")
			case 1:
				_, _ = c.QueueToggleLogin("a", a, "7000")
			case 2:
				c.SetRegistration("a", a, nil)
			case 3:
				c.SetRegistration("a", a, &Registration{Contact: "sip:" + a + "@127.0.0.1"})
			}
			_, _ = c.QueueShift("a", "Q", "nope", 1)
			_, _ = c.QueueCalls("a", "Q")
			time.Sleep(time.Millisecond)
		}
		// Everyone back, unpaused, so the remaining callers get served.
		for _, a := range agents {
			c.SetRegistration("a", a, &Registration{Contact: "sip:" + a + "@127.0.0.1"})
			_, _ = c.QueuePause("a", "Q", a, false, "")
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		close(stop)
		<-done
		t.Fatal("callers were not all served within 60 s")
	}
	calls, _ := c.QueueCalls("a", "Q")
	if len(calls) != 0 {
		t.Fatalf("calls left in the queue: %+v", calls)
	}
	c.Close()
	n := 0
	for _, e := range ql.events() {
		if e == "ENTERQUEUE" {
			n++
		}
	}
	if n != 400 {
		t.Fatalf("%d ENTERQUEUE entries, want 400", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before+2 {
		t.Fatalf("goroutines: %d before, %d after", before, g)
	}
}
