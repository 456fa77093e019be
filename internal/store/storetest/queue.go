package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestQueueLogStore runs the queue statistics suite on an empty store.
func TestQueueLogStore(t *testing.T, open func(t *testing.T) store.QueueLogStore) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := open(t)
	var es []pbx.QueueLogEntry
	add := func(sec int, q, call, agent, ev string, wait, talk time.Duration) {
		es = append(es, pbx.QueueLogEntry{Time: base.Add(time.Duration(sec) * time.Second), Tenant: "t", Queue: q, CallID: call,
			Agent: agent, Event: ev, Wait: wait, Talk: talk})
	}
	// Ten calls to Q: waits 1..10 s answered by 101/102, talk 60 s each;
	// two abandoned after 30 and 50 s; one timed out.
	for i := 1; i <= 10; i++ {
		call := string(rune('a' + i))
		agent := "101"
		if i%2 == 0 {
			agent = "102"
		}
		add(i*100, "Q", call, "", "ENTERQUEUE", 0, 0)
		add(i*100+i, "Q", call, agent, "CONNECT", time.Duration(i)*time.Second, 0)
		add(i*100+i+60, "Q", call, agent, "COMPLETECALLER", time.Duration(i)*time.Second, 60*time.Second)
	}
	add(2000, "Q", "x", "", "ENTERQUEUE", 0, 0)
	add(2000, "Q", "x", "101", "RINGNOANSWER", 0, 0)
	add(2030, "Q", "x", "", "ABANDON", 30*time.Second, 0)
	add(2100, "Q", "y", "", "ENTERQUEUE", 0, 0)
	add(2150, "Q", "y", "", "ABANDON", 50*time.Second, 0)
	add(2200, "Q", "z", "", "ENTERQUEUE", 0, 0)
	add(2300, "Q", "z", "", "EXITWITHTIMEOUT", 100*time.Second, 0)
	add(2400, "Other", "o", "", "ENTERQUEUE", 0, 0)
	es = append(es, pbx.QueueLogEntry{Time: base, Tenant: "t2", Queue: "Q", Event: "ENTERQUEUE"})
	if err := s.InsertQueueLog(ctx, es); err != nil {
		t.Fatal(err)
	}
	st, err := s.QueueStats(ctx, pbx.QueueStatsFilter{Tenant: "t", Queue: "Q", ServiceLevel: 5 * time.Second})
	if err != nil || len(st) != 1 {
		t.Fatalf("%v %+v", err, st)
	}
	q := st[0]
	want := pbx.QueueStats{Queue: "Q", Offered: 13, Answered: 10, Abandoned: 2, TimedOut: 1, AvgWaitSeconds: 5.5, P90WaitSeconds: 9,
		ServiceLevelPct: 38.46, AvgTalkSeconds: 60, AvgAbandonSecond: 40}
	if q != want {
		t.Fatalf("stats\n got %+v\nwant %+v", q, want)
	}
	all, _ := s.QueueStats(ctx, pbx.QueueStatsFilter{Tenant: "t"})
	if len(all) != 2 || all[0].Queue != "Other" || all[0].Offered != 1 {
		t.Fatalf("all queues %+v", all)
	}
	win, _ := s.QueueStats(ctx, pbx.QueueStatsFilter{Tenant: "t", Queue: "Q", From: base.Add(150 * time.Second), To: base.Add(350 * time.Second)})
	if len(win) != 1 || win[0].Offered != 2 || win[0].Answered != 2 {
		t.Fatalf("window %+v", win)
	}
	ag, err := s.AgentStats(ctx, pbx.QueueStatsFilter{Tenant: "t", Queue: "Q"})
	if err != nil || len(ag) != 2 {
		t.Fatalf("%v %+v", err, ag)
	}
	if ag[0] != (pbx.AgentStats{Queue: "Q", Agent: "101", Answered: 5, RingNoAnswer: 1, AvgTalkSeconds: 60, TalkSeconds: 300}) {
		t.Fatalf("agent 101 %+v", ag[0])
	}
	if other, _ := s.QueueStats(ctx, pbx.QueueStatsFilter{Tenant: "t2"}); len(other) != 1 || other[0].Offered != 1 {
		t.Fatalf("tenant t2 %+v", other)
	}
}
