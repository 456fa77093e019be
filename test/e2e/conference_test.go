package e2e

import (
	"testing"
	"time"
)

// TestConferenceAndMonitorThroughTheAPI: call_create_conf with three bots,
// members listed and removed; a supervisor's phone spies on a call.
func TestConferenceAndMonitorThroughTheAPI(t *testing.T) {
	s := startServer(t, t.TempDir())
	events := dialEvents(t, s)

	var created struct {
		Conference struct {
			Name string `json:"name"`
		} `json:"conference"`
		Calls []struct {
			ID string `json:"id"`
		} `json:"calls"`
	}
	s.postJSON(t, "/api/v1/conferences", `{"members":["1001","1002","1003"]}`, 201, &created)
	if created.Conference.Name == "" || len(created.Calls) != 3 {
		t.Fatalf("created %+v", created)
	}
	for range 3 {
		waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "conference.join" }, 15*time.Second)
	}
	var list struct {
		Conferences []struct {
			Name    string `json:"name"`
			Number  string `json:"number"`
			Members []struct {
				Channel struct {
					UniqueID string `json:"uniqueid"`
					Exten    string `json:"exten"`
				} `json:"channel"`
			} `json:"members"`
		} `json:"conferences"`
	}
	s.getJSON(t, "/api/v1/conferences", &list)
	var member string
	for _, c := range list.Conferences {
		if c.Name == "SesjaRady" && c.Number != "8000" {
			t.Fatalf("configured room %+v", c)
		}
		if c.Name == created.Conference.Name {
			if len(c.Members) != 3 {
				t.Fatalf("members %+v", c.Members)
			}
			member = c.Members[0].Channel.UniqueID
		}
	}
	if member == "" {
		t.Fatalf("room %s not listed: %+v", created.Conference.Name, list)
	}
	s.delete(t, "/api/v1/conferences/"+created.Conference.Name+"/members/"+member, 204)
	leave := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "conference.leave" }, 10*time.Second)
	if ch, _ := leave["channel"].(map[string]any); ch["uniqueid"] != member {
		t.Fatalf("leave %v", leave)
	}
	s.delete(t, "/api/v1/conferences/"+created.Conference.Name+"/members/"+member, 404)
	if code, body := s.request(t, "POST", "/api/v1/conferences", `{"members":[]}`); code != 400 {
		t.Fatalf("empty members: %d %s", code, body)
	}
	if code, body := s.request(t, "POST", "/api/v1/conferences/NoSuchRoom/members", `{"numbers":["1001"]}`); code != 404 {
		t.Fatalf("unknown room: %d %s", code, body)
	}
	for _, c := range created.Calls {
		_, _ = s.request(t, "DELETE", "/api/v1/calls/"+c.ID, "")
	}

	// Monitor: 1003 talks to 1004, bot 12 listens.
	var call struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1004"}`, 201, &call)
	waitEvent(t, events, func(e map[string]any) bool {
		c, _ := e["call"].(map[string]any)
		return e["type"] == "call.answered" && c["id"] == call.ID
	}, 15*time.Second)
	if code, _ := s.request(t, "POST", "/api/v1/channels/"+call.ID+"/monitor", `{"listener":"12"}`, "2001", "demo"); code != 403 {
		t.Fatalf("a phone user may not spy: %d", code)
	}
	var spy struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/channels/"+call.ID+"/monitor", `{"listener":"12"}`, 201, &spy)
	waitEvent(t, events, func(e map[string]any) bool {
		c, _ := e["call"].(map[string]any)
		return e["type"] == "call.answered" && c["id"] == spy.ID
	}, 15*time.Second)
	time.Sleep(500 * time.Millisecond)
	s.delete(t, "/api/v1/calls/"+call.ID, 204)
	ended := waitEvent(t, events, func(e map[string]any) bool {
		c, _ := e["cdr"].(map[string]any)
		return e["type"] == "call.ended" && c["uniqueid"] == spy.ID
	}, 15*time.Second)
	if c := ended["cdr"].(map[string]any); c["lastapp"] != "ChanSpy" || c["disposition"] != "ANSWERED" || c["hangup_by"] != "system" {
		t.Fatalf("spy cdr %v", c)
	}
}
