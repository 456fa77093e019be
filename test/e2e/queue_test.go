package e2e

import (
	"sync"
	"testing"
	"time"
)

// TestQueueThroughSIPpAndTheAPI: with VMX's agents 1001 busy and 1002
// paused, a SIPp caller gives up (abandoned); with 1002 unpaused the next
// SIPp caller is served by it; statistics count both; dynamic login
// through the API.
func TestQueueThroughSIPpAndTheAPI(t *testing.T) {
	s := startServer(t, t.TempDir())
	events := dialEvents(t, s)

	var paused struct {
		Members []struct {
			Number string `json:"number"`
			Paused bool   `json:"paused"`
			Reason string `json:"reason"`
		} `json:"members"`
	}
	s.postJSON(t, "/api/v1/queues/VMX/members/1002/pause", `{"paused":true,"reason":"lunch"}`, 200, &paused)
	if len(paused.Members) != 1 || !paused.Members[0].Paused || paused.Members[0].Reason != "lunch" {
		t.Fatalf("pause %+v", paused)
	}
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "queue.member.paused" }, 5*time.Second)
	var busy struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1001"}`, 201, &busy)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)

	// Caller 1: waits 2 s with nobody free, hangs up: abandoned.
	if code, out := s.sipp(t, "testdata/call.xml", "-s", "7777", "-au", "2001", "-ap", "demo", "-d", "2000"); code != 0 {
		t.Fatalf("sipp caller 1: %d\n%s", code, out)
	}
	left := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "queue.caller.leave" }, 10*time.Second)
	if left["cause"] != "abandoned" {
		t.Fatalf("first caller left with %v", left)
	}

	// Caller 2: 1002 is back; it is rung and answers; the caller talks 3 s.
	s.postJSON(t, "/api/v1/queues/VMX/members/1002/pause", `{"paused":false}`, 200, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	var code int
	var out string
	go func() {
		defer wg.Done()
		code, out = s.sipp(t, "testdata/call.xml", "-s", "7777", "-au", "2001", "-ap", "demo", "-d", "4000")
	}()
	served := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "queue.caller.leave" }, 15*time.Second)
	caller, _ := served["caller"].(map[string]any)
	if served["cause"] != "answered" || caller["agent"] != "1002" {
		t.Fatalf("second caller left with %v", served)
	}
	var calls struct {
		Calls []struct {
			Agent        string `json:"agent"`
			AgentChannel string `json:"agent_channel"`
			Position     int    `json:"position"`
		} `json:"calls"`
	}
	s.getJSON(t, "/api/v1/queues/VMX/calls", &calls)
	if len(calls.Calls) != 1 || calls.Calls[0].Agent != "1002" || calls.Calls[0].AgentChannel == "" || calls.Calls[0].Position != 0 {
		t.Fatalf("q_call_list %+v", calls)
	}
	wg.Wait()
	if code != 0 {
		t.Fatalf("sipp caller 2: %d\n%s", code, out)
	}
	s.delete(t, "/api/v1/calls/"+busy.ID, 204)

	// Statistics come from the durable queue log.
	var stats struct {
		Queues []struct {
			Queue     string  `json:"queue"`
			Offered   int     `json:"offered"`
			Answered  int     `json:"answered"`
			Abandoned int     `json:"abandoned"`
			AvgTalk   float64 `json:"avg_talk"`
		} `json:"queues"`
		Agents []struct {
			Agent    string `json:"agent"`
			Answered int    `json:"answered"`
		} `json:"agents"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.getJSON(t, "/api/v1/queues/stats?queue=VMX", &stats)
		if len(stats.Queues) == 1 && stats.Queues[0].AvgTalk > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(stats.Queues) != 1 || stats.Queues[0].Offered != 2 || stats.Queues[0].Answered != 1 || stats.Queues[0].Abandoned != 1 || stats.Queues[0].AvgTalk < 2 {
		t.Fatalf("stats %+v", stats)
	}
	if len(stats.Agents) != 1 || stats.Agents[0].Agent != "1002" || stats.Agents[0].Answered != 1 {
		t.Fatalf("agent stats %+v", stats.Agents)
	}

	// Dynamic members through the API; a phone user only for itself.
	s.postJSON(t, "/api/v1/queues/VMX/members", `{"number":"1004","penalty":1}`, 201, nil)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "queue.member.added" }, 5*time.Second)
	if c, body := s.request(t, "POST", "/api/v1/queues/VMX/members", `{"number":"1004"}`); c != 409 {
		t.Fatalf("double login: %d %s", c, body)
	}
	if c, _ := s.request(t, "POST", "/api/v1/queues/VMX/members", `{"number":"1003"}`, "2001", "demo"); c != 403 {
		t.Fatalf("user logging in someone else: %d", c)
	}
	if c, body := s.request(t, "POST", "/api/v1/queues/VMX/members", `{}`, "2001", "demo"); c != 201 {
		t.Fatalf("user logging itself in: %d %s", c, body)
	}
	s.delete(t, "/api/v1/queues/VMX/members/1004", 204)
	if c, _ := s.request(t, "DELETE", "/api/v1/queues/VMX/members/1001", ""); c != 400 {
		t.Fatalf("removing a static member: %d", c)
	}
	if c, _ := s.request(t, "GET", "/api/v1/queues/Nope/calls", ""); c != 404 {
		t.Fatalf("unknown queue: %d", c)
	}
}
