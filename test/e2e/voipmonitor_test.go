package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/media"
)

// vm sends a request to the binary's VoIPmonitor dialect.
func (s *server) vm(t *testing.T, method, path, cookie, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.http+path, strings.NewReader(body))
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestVoIPmonitorAgainstTheBinary: SIPp calls the demo bot 1001 from
// 2001 through the real binary; the spec's sequence then finds the call
// (bypass_login, LISTING by caller), its PCAP holds the INVITE and RTP,
// its SIP history is the spec's JSON, getVoiceRecording decodes the bot's
// 440 Hz tone from the capture; a live click-to-call's recording is
// paused and resumed through handleActiveCall.
func TestVoIPmonitorAgainstTheBinary(t *testing.T) {
	needSIPp(t)
	s := startServer(t, t.TempDir())
	if code, out := s.sipp(t, "testdata/call.xml", "-s", "1001", "-au", "2001", "-ap", "demo", "-d", "2000"); code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	code, body := s.vm(t, "POST", "/php/model/sql.php?module=bypass_login&user=voipmonitor&pass=voipmonitor", "", "", "")
	var login struct {
		SID        string `json:"SID"`
		CookieName string `json:"cookie_name"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &login) != nil || login.CookieName != "PHPSESSID" {
		t.Fatalf("bypass_login: %d %s", code, body)
	}
	cookie := login.CookieName + "=" + login.SID
	today := time.Now().Add(-time.Hour).Format("2006-01-02")
	var list struct {
		Total   string               `json:"total"`
		Results []map[string]*string `json:"results"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = s.vm(t, "POST", "/php/model/sql.php?task=LISTING&module=CDR&fdatefrom="+today+"T00:00:00&fcaller=2001", cookie, "", "")
		if code == 200 && json.Unmarshal([]byte(body), &list) == nil && list.Total == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LISTING: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	row := list.Results[0]
	str := func(k string) string {
		if row[k] == nil {
			return ""
		}
		return *row[k]
	}
	if str("called") != "1001" || str("lastSIPresponseNum") != "200" || str("b_payload") != "0" || str("b_received") == "" || str("fbasename") == "" {
		t.Fatalf("row: %s", body)
	}
	id, callID := str("cdrId"), str("fbasename")
	q := url.Values{"task": {"getPCAP"}, "user": {"voipmonitor"}, "password": {"voipmonitor"}, "params": {`{"callId":"` + callID + `"}`}}
	code, body = s.vm(t, "GET", "/php/api.php?"+q.Encode(), "", "", "")
	if code != 200 {
		t.Fatalf("getPCAP: %d %.200s", code, body)
	}
	if msgs, err := capture.ReadSIPFrom(strings.NewReader(body), false); err != nil || len(msgs) == 0 || msgs[0].Method != "INVITE" {
		t.Fatalf("pcap SIP: %+v %v", msgs, err)
	}
	if streams, err := capture.ReadRTP(strings.NewReader(body)); err != nil || len(streams) == 0 {
		t.Fatalf("pcap RTP: %d %v", len(streams), err)
	}
	code, body = s.vm(t, "POST", "/php/pcap2text.php?action=brief_data&id="+id+"&dns_lookup=0", cookie, "", "")
	if code != 200 || !strings.Contains(body, `"protocol":"SIP/SDP"`) || !strings.Contains(body, `"msg":"INVITE sip:1001@`) {
		t.Fatalf("brief_data: %d %.300s", code, body)
	}
	q.Set("task", "getVoiceRecording")
	q.Set("params", `{"cdrId":"`+id+`"}`)
	code, body = s.vm(t, "GET", "/php/api.php?"+q.Encode(), "", "", "")
	if code != 200 {
		t.Fatalf("getVoiceRecording: %d %.200s", code, body)
	}
	w, err := media.ParseWAV([]byte(body))
	if err != nil || len(w.Samples[0]) < 8000 {
		t.Fatalf("wav: %v", err)
	}
	if f := media.DominantFrequency(w.Samples[0][2000:6000], 8000, []float64{350, 425, 440, 1000}); f != 440 {
		t.Fatalf("decoded audio is %v Hz, want the bot's 440", f)
	}

	// A live call, recorded; handleActiveCall pauses and resumes it.
	events := dialEvents(t, s)
	var call struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1004"}`, 201, &call)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)
	var rec recording
	s.postJSON(t, "/api/v1/recordings", fmt.Sprintf(`{"call":%q}`, call.ID), 201, &rec)
	api := func(params string) (int, string) {
		return s.vm(t, "POST", "/php/api.php", "", "", `{"task": "handleActiveCall", "user": "voipmonitor", "password": "voipmonitor", "auditReason": "e2e", "params": `+params+`}`)
	}
	if code, body := api(`{"sensorId": "1","command":"pausecall","callRef":"` + call.ID + `"}`); code != 200 || !strings.Contains(body, `"success":true`) {
		t.Fatalf("pausecall: %d %s", code, body)
	}
	s.getJSON(t, "/api/v1/recordings/"+rec.ID, &rec)
	if rec.State != "paused" {
		t.Fatalf("after pausecall: %+v", rec)
	}
	if code, body := api(`{"sensorId": "1","command":"unpausecall","callRef":"` + call.ID + `"}`); code != 200 {
		t.Fatalf("unpausecall: %d %s", code, body)
	}
	s.getJSON(t, "/api/v1/recordings/"+rec.ID, &rec)
	if rec.State != "recording" {
		t.Fatalf("after unpausecall: %+v", rec)
	}
	if code, _ := api(`{"sensorId": "1","command":"stopcall","callRef":"` + call.ID + `"}`); code != 400 {
		t.Fatalf("unknown command: %d", code)
	}
	// The call ends; its recording (paused for a moment) is what
	// getVoiceRecording serves now, streamed as recorded.
	time.Sleep(500 * time.Millisecond)
	s.delete(t, "/api/v1/calls/"+call.ID, 204)
	var cdrs cdrPage
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s.getJSON(t, "/api/v1/cdrs?uniqueid="+call.ID, &cdrs)
		if cdrs.Total == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CDR for %s", call.ID)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); rec.State != "stopped"; time.Sleep(100 * time.Millisecond) {
		s.getJSON(t, "/api/v1/recordings/"+rec.ID, &rec)
		if time.Now().After(deadline) {
			t.Fatalf("recording not stopped: %+v", rec)
		}
	}
	q.Set("params", fmt.Sprintf(`{"cdrId":%d}`, cdrs.CDRs[0].ID))
	code, body = s.vm(t, "GET", "/php/api.php?"+q.Encode(), "", "", "")
	if code != 200 || int64(len(body)) != rec.Size {
		t.Fatalf("getVoiceRecording of the recorded call: %d, %d bytes, recording %d", code, len(body), rec.Size)
	}
	if w, err := media.ParseWAV([]byte(body)); err != nil || media.DominantFrequency(w.Samples[0][:4000], 8000, []float64{350, 425, 440, 1000}) != 440 {
		t.Fatalf("recorded audio: %v", err)
	}
	// auditReason reaches the audit log with who, what and the outcome.
	var page struct {
		Entries []struct {
			Principal string `json:"principal"`
			Dialect   string `json:"dialect"`
			Action    string `json:"action"`
			Status    int    `json:"status"`
			Reason    string `json:"reason"`
		} `json:"entries"`
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s.getJSON(t, "/api/v1/audit?limit=1000", &page)
		n := 0
		for _, e := range page.Entries {
			if e.Action == "api handleActiveCall" && e.Principal == "voipmonitor" && e.Dialect == "voipmonitor" && e.Reason == "e2e" {
				n++
			}
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audited handleActiveCall requests, want 3: %+v", n, page.Entries)
		}
	}
}
