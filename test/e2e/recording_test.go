package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

type recording struct {
	ID     string `json:"id"`
	CallID string `json:"call_id"`
	File   string `json:"file"`
	State  string `json:"state"`
	Millis int64  `json:"duration_ms"`
	Size   int64  `json:"size"`
}

// request sends an authenticated request and returns status and body.
func (s *server) request(t *testing.T, method, path, body string, basic ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.http+path, strings.NewReader(body))
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	} else {
		req.Header.Set("Authorization", "Bearer MyExampleKey")
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestRecordingAndCaptureThroughTheAPI: record a bot call for about 3 s
// with a paused second in the middle, download the WAV and listen to it;
// then fetch the call's PCAP and SIP ladder.
func TestRecordingAndCaptureThroughTheAPI(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	events := dialEvents(t, s)
	var call struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/api/v1/calls", `{"from":"1003","to":"1004"}`, 201, &call)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.answered" }, 15*time.Second)

	for _, bad := range []string{`../evil`, `/tmp/x`, `a\u0000b`, `..`, `sub/dir`} {
		code, body := s.request(t, "POST", "/api/v1/recordings", fmt.Sprintf(`{"call":%q,"name":%q}`, call.ID, bad))
		if code != 400 || !strings.Contains(string(body), `"invalid_argument"`) {
			t.Fatalf("name %q: %d %s", bad, code, body)
		}
	}
	if code, body := s.request(t, "POST", "/api/v1/recordings", `{"call":"1.2"}`); code != 404 {
		t.Fatalf("unknown call: %d %s", code, body)
	}
	if code, body := s.request(t, "POST", "/api/v1/recordings", `{"call":"x","bogus":1}`); code != 400 {
		t.Fatalf("unknown field: %d %s", code, body)
	}
	var rec recording
	s.postJSON(t, "/api/v1/recordings", fmt.Sprintf(`{"call":%q,"name":"crm-ticket-7"}`, call.ID), 201, &rec)
	if rec.File != "crm-ticket-7.wav" || rec.CallID != call.ID || rec.State != "recording" {
		t.Fatalf("started %+v", rec)
	}
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "recording.started" }, 5*time.Second)
	if code, body := s.request(t, "POST", "/api/v1/recordings", fmt.Sprintf(`{"call":%q}`, call.ID)); code != 409 {
		t.Fatalf("second recording: %d %s", code, body)
	}
	time.Sleep(time.Second)
	s.postJSON(t, "/api/v1/recordings/"+rec.ID+"/pause", ``, 200, &rec)
	if rec.State != "paused" {
		t.Fatalf("after pause %+v", rec)
	}
	time.Sleep(time.Second)
	s.postJSON(t, "/api/v1/recordings/"+rec.ID+"/resume", ``, 200, &rec)
	time.Sleep(time.Second)
	s.postJSON(t, "/api/v1/recordings/"+rec.ID+"/stop", ``, 200, &rec)
	if rec.State != "stopped" || rec.Millis < 2700 || rec.Millis > 3500 {
		t.Fatalf("stopped %+v", rec)
	}
	if code, _ := s.request(t, "POST", "/api/v1/recordings/"+rec.ID+"/stop", ``); code != 400 {
		t.Fatalf("stop twice: %d", code)
	}

	var page struct {
		Total      int         `json:"total"`
		Recordings []recording `json:"recordings"`
	}
	s.getJSON(t, "/api/v1/recordings?call="+call.ID, &page)
	if page.Total != 1 || page.Recordings[0].ID != rec.ID {
		t.Fatalf("list %+v", page)
	}
	code, wav := s.request(t, "GET", "/api/v1/recordings/"+rec.ID+"/audio", "")
	if code != 200 || int64(len(wav)) != rec.Size {
		t.Fatalf("download: %d, %d bytes (indexed %d)", code, len(wav), rec.Size)
	}
	if disk, err := os.ReadFile(filepath.Join(dataDir, "recordings", "MojaCentrala", "crm-ticket-7.wav")); err != nil || string(disk) != string(wav) {
		t.Fatalf("file on disk: %v", err)
	}
	w, err := media.ParseWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	pcm := w.Samples[0]
	cands := []float64{440, 425, 1000}
	if f := media.DominantFrequency(pcm[2000:6000], 8000, cands); f != 440 {
		t.Fatalf("first second is %v Hz, want the bots' 440", f)
	}
	for i, v := range pcm[int(1.25*8000):int(1.75*8000)] {
		if v != 0 {
			t.Fatalf("sample %d of the paused second is %d, want silence", i, v)
		}
	}
	if f := media.DominantFrequency(pcm[len(pcm)-6000:len(pcm)-2000], 8000, cands); f != 440 {
		t.Fatalf("last second is %v Hz", f)
	}

	// Rights: a phone user may not download recordings; no credentials, 401.
	if code, _ := s.request(t, "GET", "/api/v1/recordings/"+rec.ID+"/audio", "", "2001", "demo"); code != 403 {
		t.Fatalf("user download: %d", code)
	}
	req, _ := http.NewRequest("GET", "http://"+s.http+"/api/v1/recordings/"+rec.ID+"/audio", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("anonymous download: %d", res.StatusCode)
	}
	if code, body := s.request(t, "GET", "/api/v1/recordings/ffff/audio", ""); code != 404 {
		t.Fatalf("unknown recording: %d %s", code, body)
	}
	var one recording
	if code, body := s.request(t, "GET", "/api/v1/recordings/"+rec.ID, ""); code != 200 || json.Unmarshal(body, &one) != nil || one.ID != rec.ID {
		t.Fatalf("get: %d %s", code, body)
	}
	s.delete(t, "/api/v1/calls/"+call.ID, 204)
	waitEvent(t, events, func(e map[string]any) bool { return e["type"] == "call.ended" }, 15*time.Second)

	// The call's capture: a real pcap with the INVITE and RTP, and its
	// SIP ladder as JSON.
	var cdrs cdrPage
	s.getJSON(t, "/api/v1/cdrs?uniqueid="+call.ID, &cdrs)
	if cdrs.Total != 1 {
		t.Fatalf("cdr of the call: %+v", cdrs)
	}
	cdrPath := fmt.Sprintf("/api/v1/cdrs/%d", cdrs.CDRs[0].ID)
	code, pcap := s.request(t, "GET", cdrPath+"/pcap", "")
	if code != 200 {
		t.Fatalf("pcap: %d %s", code, pcap)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	invites, rtp := 0, 0
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		switch {
		case udp == nil:
		case bytes.HasPrefix(udp.Payload, []byte("INVITE sip:")):
			invites++
		case len(udp.Payload) == 172 && udp.Payload[0] == 0x80:
			rtp++
		}
	}
	if invites < 2 || rtp < 500 {
		t.Fatalf("pcap holds %d INVITEs and %d G.711 RTP packets", invites, rtp)
	}
	var ladder struct {
		Messages []struct {
			Src, Dst, Line, Method string
			Status, Length         int
		} `json:"messages"`
	}
	s.getJSON(t, cdrPath+"/sip", &ladder)
	if len(ladder.Messages) < 8 || ladder.Messages[0].Method != "INVITE" || ladder.Messages[0].Length == 0 || ladder.Messages[0].Src == "" {
		t.Fatalf("ladder %+v", ladder.Messages)
	}
	if code, _ := s.request(t, "GET", cdrPath+"/pcap", "", "2001", "demo"); code != 403 {
		t.Fatalf("user pcap: %d", code)
	}
	if code, _ := s.request(t, "GET", "/api/v1/cdrs/999999/pcap", ""); code != 404 {
		t.Fatalf("unknown cdr pcap: %d", code)
	}
}

// TestAuditLogRecordsChangesAndSensitiveReads: state changes and
// recording downloads are in the audit log with who, from where, the
// outcome and the client's reason; plain reads are not.
func TestAuditLogRecordsChangesAndSensitiveReads(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.postJSON(t, "/api/v1/queues/VMX/members/1002/pause?auditReason=ticket%2042", `{"paused":true}`, 200, nil)
	if code, _ := s.request(t, "GET", "/api/v1/recordings/ffff/audio", ""); code != 404 {
		t.Fatalf("download of a missing recording: %d", code)
	}
	if code, _ := s.request(t, "POST", "/api/v1/calls", `{"from":"1003","to":"1004"}`, "2001", "demo"); code != 403 {
		t.Fatalf("user originating for another extension: %d", code)
	}
	var extensions any
	s.getJSON(t, "/api/v1/extensions", &extensions)
	var page struct {
		Total   int `json:"total"`
		Entries []struct {
			Principal string `json:"principal"`
			Remote    string `json:"remote"`
			Action    string `json:"action"`
			Target    string `json:"target"`
			Status    int    `json:"status"`
			Reason    string `json:"reason"`
		} `json:"entries"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.getJSON(t, "/api/v1/audit", &page)
		if page.Total >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	byAction := map[string]int{}
	for _, e := range page.Entries {
		byAction[e.Action]++
		switch e.Action {
		case "POST /api/v1/queues/{name}/members/{number}/pause":
			if e.Principal != "cloudpbx" || e.Status != 200 || e.Reason != "ticket 42" || e.Remote != "127.0.0.1" {
				t.Fatalf("pause entry %+v", e)
			}
		case "GET /api/v1/recordings/{id}/audio":
			if e.Status != 404 || e.Target != "/api/v1/recordings/ffff/audio" {
				t.Fatalf("download entry %+v", e)
			}
		case "POST /api/v1/calls":
			if e.Principal != "2001" || e.Status != 403 {
				t.Fatalf("refused originate entry %+v", e)
			}
		}
	}
	if byAction["GET /api/v1/extensions"] != 0 {
		t.Fatal("a plain read was audited")
	}
	for _, a := range []string{"POST /api/v1/queues/{name}/members/{number}/pause", "GET /api/v1/recordings/{id}/audio", "POST /api/v1/calls"} {
		if byAction[a] != 1 {
			t.Fatalf("audit has %d entries for %s: %+v", byAction[a], a, page.Entries)
		}
	}
}
