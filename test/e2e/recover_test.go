package e2e

import (
	"testing"
	"time"
)

// TestLiveCallGetsCDRAfterKill9: a call answered and still up when
// switchboard is killed gets a CDR at the next start, marked interrupted,
// billed up to the last moment the log knew it was up; a second restart
// does not bill it again.
func TestLiveCallGetsCDRAfterKill9(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	events := dialEvents(t, s)
	var call struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1004"}`, 201, &call)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)
	time.Sleep(1500 * time.Millisecond) // talk a little; the log writes in batches within milliseconds
	s.kill9()

	type cdrs struct {
		Total int `json:"total"`
		CDRs  []struct {
			UniqueID  string `json:"uniqueid"`
			Disp      string `json:"disposition"`
			EndStatus string `json:"endstatus"`
			BillSec   int    `json:"billsec"`
			HangupBy  string `json:"hangup_by"`
		} `json:"cdrs"`
	}
	var page cdrs
	s2 := startServer(t, dataDir)
	s2.getJSON(t, "/api/v1/cdrs?number=1003", &page)
	if page.Total != 1 {
		t.Fatalf("after kill -9 with a live call: %+v", page)
	}
	c := page.CDRs[0]
	if c.UniqueID != call.ID || c.Disp != "ANSWERED" || c.EndStatus != "interrupted" || c.HangupBy != "system" || c.BillSec > 3 {
		t.Fatalf("interrupted call's CDR: %+v", c)
	}
	s2.stop()
	s3 := startServer(t, dataDir)
	s3.getJSON(t, "/api/v1/cdrs?number=1003", &page)
	if page.Total != 1 {
		t.Fatalf("a second restart billed the call again: %+v", page)
	}
}
