package node

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestOriginateToQueue: click-to-call from 1003 to the demo's queue 7777
// (VMX, agents 1001 and 1002, all bots) rings 1003, puts it in the queue
// as the caller (showing 1003 to the agents) and connects an agent; it
// never goes out to the carrier.
func TestOriginateToQueue(t *testing.T) {
	n := startDemo(t)
	sub := n.Core().Subscribe("MojaCentrala", 1024)
	defer sub.Close()
	id := originate(t, n, `{"from":"1003","to":"7777"}`)
	joined, agent := false, ""
	deadline := time.After(20 * time.Second)
	for agent == "" {
		select {
		case env := <-sub.C():
			e := env.Event
			switch {
			case e.Type == pbx.EvQueueJoin && e.Caller != nil && e.Caller.CallID == id:
				joined = true
				if e.Queue.Name != "VMX" || e.Caller.CallerIDNum != "1003" {
					t.Fatalf("queue join %+v %+v, want 1003 in VMX", e.Queue, e.Caller)
				}
			case e.Type == pbx.EvChannelNew && e.Channel != nil && e.Channel.CallID == id && e.Channel.Exten != "1003":
				if e.Channel.IsTrunk {
					t.Fatalf("the call went out to the carrier: %+v", e.Channel)
				}
				if !joined {
					t.Fatalf("channel %+v before the queue join", e.Channel)
				}
				if e.Channel.CallerIDNum != "1003" {
					t.Fatalf("agent offered caller id %q, want 1003", e.Channel.CallerIDNum)
				}
				agent = e.Channel.Exten
			}
		case <-deadline:
			t.Fatalf("no agent offered (joined %v)", joined)
		}
	}
	if agent != "1001" && agent != "1002" {
		t.Fatalf("offered to %s", agent)
	}
	waitCallEvent(t, sub, "call.answered", id)
	if err := n.Core().Hangup(context.Background(), "MojaCentrala", id); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, sub, "call.ended", id)
}
