package e2e

import (
	"strings"
	"testing"
	"time"
)

type legRow struct {
	Src         string `json:"src"`
	Dst         string `json:"dst"`
	UniqueID    string `json:"uniqueid"`
	Disposition string `json:"disposition"`
	EndStatus   string `json:"endstatus"`
	HangupBy    string `json:"hangup_by"`
	BillSec     int    `json:"billsec"`
	SrcUA       string `json:"src_ua"`
	DstUA       string `json:"dst_ua"`
	Channel     string `json:"channel"`
	DstChannel  string `json:"dstchannel"`
}

// callRows returns the CDR rows of a call (its uniqueid), by src.
func callRows(t *testing.T, s *server, id string) (int, map[string]legRow) {
	t.Helper()
	var page struct {
		Total int      `json:"total"`
		CDRs  []legRow `json:"cdrs"`
	}
	s.getJSON(t, "/api/v1/cdrs?uniqueid="+id, &page)
	bySrc := map[string]legRow{}
	for _, r := range page.CDRs {
		bySrc[r.Src+">"+r.Dst] = r
	}
	return page.Total, bySrc
}

// waitUp waits for a channel.state "up" of exten.
func waitUp(t *testing.T, events <-chan map[string]any, exten string) {
	t.Helper()
	waitEvent(t, events, func(e map[string]any) bool {
		ch, _ := e["channel"].(map[string]any)
		return e["type"] == "channel.state" && ch != nil && ch["exten"] == exten && ch["state"] == "up"
	}, 15*time.Second)
}

// TestBaresipBlindTransferCDRLegs (issue 10 item 7) with a real softphone:
// baresip (2001) calls bot 1001 and transfers it to bot 1002 (REFER). The
// call keeps its id and has two CDR rows: 2001 -> 1001 closed at the
// transfer with baresip's user agent, and 1001 -> 1002 from then on.
func TestBaresipBlindTransferCDRLegs(t *testing.T) {
	needTool(t, "baresip", "baresip")
	s := startServer(t, t.TempDir())
	events := dialEvents(t, s)
	b := startBaresip(t, s, "2001", "udp")

	b.cmd("/dial 1001")
	b.waitFor(15*time.Second, "Call established")
	ans := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)
	id, _ := ans["call"].(map[string]any)["id"].(string)
	time.Sleep(1200 * time.Millisecond)
	b.cmd("/transfer 1002")
	tr := waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.transferred" }, 15*time.Second)
	if cdr, _ := tr["cdr"].(map[string]any); cdr == nil || cdr["hangup_by"] != "transfer" || cdr["src"] != "2001" || cdr["dst"] != "1001" {
		t.Fatalf("call.transferred carries %v, want the first leg's row", tr["cdr"])
	}
	waitUp(t, events, "1002")
	time.Sleep(1200 * time.Millisecond)
	s.delete(t, "/api/v1/calls/"+id, 204)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.ended" }, 15*time.Second)

	total, rows := callRows(t, s, id)
	first, second := rows["2001>1001"], rows["1001>1002"]
	if total != 2 || first.UniqueID != id || second.UniqueID != id {
		t.Fatalf("%d rows for call %s, want 2001>1001 and 1001>1002: %+v", total, id, rows)
	}
	if first.HangupBy != "transfer" || first.Disposition != "ANSWERED" || first.BillSec < 1 || !strings.Contains(strings.ToLower(first.SrcUA), "baresip") ||
		!strings.HasPrefix(first.DstChannel, "SIP/1001-") {
		t.Fatalf("first leg %+v", first)
	}
	if second.HangupBy != "api" || second.Disposition != "ANSWERED" || second.BillSec < 1 || strings.Contains(strings.ToLower(second.SrcUA), "baresip") ||
		!strings.HasPrefix(second.Channel, "SIP/1001-") || !strings.HasPrefix(second.DstChannel, "SIP/1002-") {
		t.Fatalf("second leg %+v", second)
	}
}

// TestTransferredCallGetsLegCDRAfterKill9: a click-to-call 1003 -> 1004 is
// redirected to 1002 (1003 stays); 1002 answers and the process is
// killed. The first leg's row was written at the transfer; the next start
// bills the live leg (1003 -> 1002) as interrupted, and a further restart
// adds nothing.
func TestTransferredCallGetsLegCDRAfterKill9(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	events := dialEvents(t, s)
	var call struct {
		ID       string `json:"id"`
		Channels []struct {
			UniqueID string `json:"uniqueid"`
		} `json:"channels"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1004"}`, 201, &call)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)
	time.Sleep(1200 * time.Millisecond)
	s.postJSON(t, "/api/v1/channels/"+call.Channels[0].UniqueID+"/redirect", `{"to":"1002"}`, 202, nil)
	waitUp(t, events, "1002")
	time.Sleep(1500 * time.Millisecond) // the log writes in batches within milliseconds
	s.kill9()

	s2 := startServer(t, dataDir)
	total, rows := callRows(t, s2, call.ID)
	first, second := rows["1003>1004"], rows["1003>1002"]
	if total != 2 || first.HangupBy != "transfer" || first.BillSec < 1 ||
		second.EndStatus != "interrupted" || second.Disposition != "ANSWERED" || second.HangupBy != "system" || second.BillSec > 4 {
		t.Fatalf("after kill -9, rows %+v", rows)
	}
	s2.stop()
	s3 := startServer(t, dataDir)
	if total, rows := callRows(t, s3, call.ID); total != 2 {
		t.Fatalf("a second restart billed the call again: %+v", rows)
	}
}
