package pbx

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkQueueAgentFreeToOffer: 200 callers wait across 10 queues
// served by 50 agents (5 per queue); each iteration frees one busy agent
// and measures the time until the next caller of its queue holds the
// offer to ring it — the core's share of "agent free to next call
// ringing". The served caller is replaced by a new one, so 200 keep
// waiting. Run:
//
//	go test -run '^$' -bench BenchmarkQueueAgentFreeToOffer -benchtime 20000x ./internal/pbx/
func BenchmarkQueueAgentFreeToOffer(b *testing.B) {
	var exts []ExtensionEntry
	var queues []QueueEntry
	for q := range 10 {
		qe := QueueEntry{Name: fmt.Sprint("Q", q), Number: fmt.Sprint(7000 + q), Strategy: StrategyLeastRecent, JoinEmpty: true}
		for a := range 5 {
			n := fmt.Sprint(100 + q*5 + a)
			exts = append(exts, ExtensionEntry{Number: n})
			qe.Members = append(qe.Members, QueueMemberEntry{Number: n})
		}
		queues = append(queues, qe)
	}
	exts = append(exts, ExtensionEntry{Number: "999"})
	c, err := NewCore(Directory{Tenants: []TenantEntry{{Name: "a", Domain: "a.local", Extensions: exts, Queues: queues}}}, &memCDRs{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	busy := map[string]*Channel{} // agent -> the channel keeping it busy
	occupy := func(agent string) {
		ch, _, err := c.NewCall("a", agent, "999", false, ChannelSpec{Peer: agent, Exten: agent, Dir: Inbound})
		if err != nil {
			b.Fatal(err)
		}
		busy[agent] = ch
	}
	for _, e := range exts[:50] {
		c.SetRegistration("a", e.Number, &Registration{Contact: "sip:x@127.0.0.1"})
		occupy(e.Number)
	}
	waiters := map[int][]*Waiter{}
	join := func(q int) {
		ch, _, err := c.NewCall("a", "999", fmt.Sprint(7000+q), false, ChannelSpec{Peer: "999", Dir: Inbound})
		if err != nil {
			b.Fatal(err)
		}
		w, _, err := c.QueueJoin("a", fmt.Sprint("Q", q), ch)
		if err != nil {
			b.Fatal(err)
		}
		waiters[q] = append(waiters[q], w)
	}
	for i := range 200 {
		join(i % 10)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		q := i % 10
		agent := fmt.Sprint(100 + q*5 + (i/10)%5)
		head := waiters[q][0]
		t0 := time.Now()
		c.HangupChannel(busy[agent], "normal") // the agent is free
		o := <-head.Offers()
		lat = append(lat, time.Since(t0))
		b.StopTimer()
		if len(o.Agents) != 1 || o.Agents[0] != agent {
			b.Fatalf("offer %v, want %s", o.Agents, agent)
		}
		head.RingResult(agent, "SIP/"+agent, nil)
		occupy(agent) // now talking to the caller
		head.Leave("callee")
		waiters[q] = waiters[q][1:]
		join(q)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	qs, _ := c.Queues("a")
	waiting := 0
	for _, q := range qs {
		waiting += q.Waiting
	}
	b.ReportMetric(float64(waiting), "waiting")
}
