package pbx

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

type memQueueLog struct {
	mu   sync.Mutex
	rows []QueueLogEntry
}

func (m *memQueueLog) InsertQueueLog(_ context.Context, es []QueueLogEntry) error {
	m.mu.Lock()
	m.rows = append(m.rows, es...)
	m.mu.Unlock()
	return nil
}

func (m *memQueueLog) events() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.rows {
		out = append(out, r.Event)
	}
	return out
}

func queueCore(t *testing.T, q QueueEntry, agents ...string) (*Core, *memQueueLog) {
	t.Helper()
	exts := []ExtensionEntry{{Number: "500"}, {Number: "501"}, {Number: "502"}, {Number: "503"}}
	for _, a := range agents {
		exts = append(exts, ExtensionEntry{Number: a, Name: "Agent " + a})
	}
	ql := &memQueueLog{}
	c, err := NewCore(Directory{Tenants: []TenantEntry{{Name: "a", Domain: "a.local", Extensions: exts, Queues: []QueueEntry{q}}}},
		&memCDRs{}, Options{QueueLog: ql})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		c.SetRegistration("a", a, &Registration{Contact: "sip:" + a + "@127.0.0.1"})
	}
	t.Cleanup(c.Close)
	return c, ql
}

func join(t *testing.T, c *Core, from string) *Waiter {
	t.Helper()
	ch, _, err := c.NewCall("a", from, "7000", false, ChannelSpec{Peer: from, Exten: from, Dir: Inbound, CallerIDNum: from})
	if err != nil {
		t.Fatal(err)
	}
	w, exit, err := c.QueueJoin("a", "Q", ch)
	if err != nil || exit != nil {
		t.Fatalf("join: %v %+v", err, exit)
	}
	return w
}

func offer(t *testing.T, w *Waiter) QueueOffer {
	t.Helper()
	select {
	case o := <-w.Offers():
		return o
	case <-time.After(2 * time.Second):
		t.Fatal("no offer")
	}
	return QueueOffer{}
}

func noOffer(t *testing.T, w *Waiter) {
	t.Helper()
	select {
	case o := <-w.Offers():
		t.Fatalf("unexpected offer %+v", o)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestQueueRingAllAndOrder(t *testing.T) {
	c, ql := queueCore(t, QueueEntry{Name: "Q", Number: "7000", Strategy: StrategyRingAll,
		Members: []QueueMemberEntry{{Number: "101"}, {Number: "102"}}}, "101", "102")
	w1 := join(t, c, "500")
	if o := offer(t, w1); !slices.Equal(o.Agents, []string{"101", "102"}) {
		t.Fatalf("ringall offered %v", o.Agents)
	}
	w2 := join(t, c, "501")
	noOffer(t, w2) // both agents ring for w1
	if !w1.RingResult("101", "SIP/101-1", []string{"102"}) {
		t.Fatal("ring result refused")
	}
	if o := offer(t, w2); !slices.Equal(o.Agents, []string{"102"}) {
		t.Fatalf("second caller offered %v", o.Agents)
	}
	calls, _ := c.QueueCalls("a", "Q")
	if len(calls) != 2 || calls[0].Position != 1 || calls[1].Agent != "101" {
		t.Fatalf("calls %+v", calls)
	}
	w1.Leave("caller")
	w2.Leave("caller") // abandoned while 102 rang
	c.Close()
	got := ql.events()
	want := []string{"ENTERQUEUE", "ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETECALLER", "ABANDON"}
	if !slices.Equal(got, want) {
		t.Fatalf("queue log %v, want %v", got, want)
	}
}

func TestQueueStrategiesPauseShiftRemove(t *testing.T) {
	c, _ := queueCore(t, QueueEntry{Name: "Q", Number: "7000", Strategy: StrategyLinear,
		Members: []QueueMemberEntry{{Number: "101"}, {Number: "102"}, {Number: "103"}}}, "101", "102", "103")
	if _, err := c.QueuePause("a", "Q", "101", true, "lunch"); err != nil {
		t.Fatal(err)
	}
	w1 := join(t, c, "500")
	if o := offer(t, w1); !slices.Equal(o.Agents, []string{"102"}) {
		t.Fatalf("linear with 101 paused offered %v", o.Agents)
	}
	w1.RingResult("", "", []string{"102"}) // no answer: retry at once (Retry 0) with the next
	if o := offer(t, w1); !slices.Equal(o.Agents, []string{"103"}) {
		t.Fatalf("linear after no answer offered %v", o.Agents)
	}
	w2 := join(t, c, "501")
	w3 := join(t, c, "502")
	if o := offer(t, w2); !slices.Equal(o.Agents, []string{"102"}) {
		t.Fatalf("w2 offered %v", o.Agents)
	}
	noOffer(t, w3)
	// Shift w3 to the front: when 103 is free again it goes to w3.
	if _, err := c.QueueShift("a", "Q", w3.callID, 1); err != nil {
		t.Fatal(err)
	}
	w1.Leave("caller")
	if o := offer(t, w3); !slices.Equal(o.Agents, []string{"103"}) {
		t.Fatalf("shifted caller offered %v", o.Agents)
	}
	if _, err := c.QueueShift("a", "Q", w3.callID, 9); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("shift out of range: %v", err)
	}
	if err := c.QueueRemove("a", "Q", w2.callID, "1001"); err != nil {
		t.Fatal(err)
	}
	if o := offer(t, w2); o.Exit == nil || o.Exit.Reason != LeaveRemoved || o.Exit.Dest != "1001" {
		t.Fatalf("removed caller got %+v", o)
	}
	if err := c.QueueRemove("a", "Q", "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove unknown: %v", err)
	}
	if _, err := c.QueueLogin("a", "Q", "101", false, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("logging out a static member: %v", err)
	}
}

func TestQueueDynamicMembersTimeoutAndFull(t *testing.T) {
	c, ql := queueCore(t, QueueEntry{Name: "Q", Number: "7000", Strategy: StrategyLeastRecent, MaxWait: 100 * time.Millisecond,
		MaxLen: 1, Overflow: "1001", JoinEmpty: true}, "101")
	w := join(t, c, "500")
	noOffer(t, w) // nobody logged in; JoinEmpty lets it wait
	_ = w
	ch, _, _ := c.NewCall("a", "501", "7000", false, ChannelSpec{Peer: "501", Exten: "501", Dir: Inbound})
	if _, exit, _ := c.QueueJoin("a", "Q", ch); exit == nil || exit.Reason != LeaveFull || exit.Dest != "1001" {
		t.Fatalf("full queue: %+v", exit)
	}
	if o := offer(t, w); o.Exit == nil || o.Exit.Reason != LeaveTimeout {
		t.Fatalf("max wait: %+v", o)
	}
	if in, err := c.QueueToggleLogin("a", "101", "7000"); err != nil || !in {
		t.Fatalf("toggle in: %v %v", in, err)
	}
	qs, _ := c.Queues("a")
	if len(qs[0].Members) != 1 || !qs[0].Members[0].Dynamic || qs[0].Members[0].Status != MemberFree {
		t.Fatalf("members %+v", qs[0].Members)
	}
	if in, _ := c.QueueToggleLogin("a", "101", ""); in {
		t.Fatal("second toggle did not log out")
	}
	c.Close()
	if ev := ql.events(); !slices.Contains(ev, "EXITWITHTIMEOUT") || !slices.Contains(ev, "FULL") || !slices.Contains(ev, "ADDMEMBER") || !slices.Contains(ev, "REMOVEMEMBER") {
		t.Fatalf("log %v", ev)
	}
}
