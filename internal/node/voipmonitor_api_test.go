package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/media"
)

// TestVoIPmonitorAPIOnTheDemo: after a real SIP call (phone 2001 playing
// 1000 Hz, bot 1001 answering with 440 Hz), HTTP API 2 as the spec's
// examples send it: getVoipCalls (JSON body, GET with params, the array
// form), listCdrIds, getPCAP by Call-ID (a PCAP holding the INVITE and
// RTP), getVoiceRecording (a WAV decoded from the capture: the caller's
// tone left, the called party's right), listActiveCalls during a live
// call; pcap.php with disable_rtp, pcap2text.php brief_data hiding an
// address; licenseCheck; wrong passwords and rights.
func TestVoIPmonitorAPIOnTheDemo(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	p := phone(t, n, "2001")
	sub := n.Core().Subscribe("MojaCentrala", 1000)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := p.Call(ctx, "2001", "1001", 2*time.Second); err != nil || !res.Answered {
		t.Fatalf("call: %+v %v", res, err)
	}
	cdr := waitCallEnded(t, sub)
	today := time.Now().In(mustZone(t, "Europe/Warsaw")).Format("2006-01-02")
	api := base + "/php/api.php"

	// getVoipCalls: the spec's POST body, its GET form, its array form.
	code, body, _ := vmDo(t, "POST", api, "", "", `{"task": "getVoipCalls", "user": "voipmonitor", "password": "voipmonitor", "params": {"startTime": "`+today+`", "caller": "2001", "customHeaders": "Cell-ID-Caller,Cell-ID-Called"}}`)
	var calls struct {
		Total string               `json:"total"`
		Rows  []map[string]*string `json:"rows"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &calls) != nil || calls.Total != "1" || deref(calls.Rows[0]["called"]) != "1001" {
		t.Fatalf("getVoipCalls: %d %s", code, body)
	}
	if v, ok := calls.Rows[0]["Cell-ID-Caller"]; !ok || v != nil {
		t.Errorf("custom header column: %s", body)
	}
	cdrID := deref(calls.Rows[0]["cdrId"])
	q := url.Values{"task": {"getVoipCalls"}, "user": {"voipmonitor"}, "password": {"voipmonitor"},
		"params": {`[{"startTime":"` + today + `","caller":"2001"},{"startTime":"` + today + `","caller":"910251415"}]`}}
	if code, body, _ := vmDo(t, "GET", api+"?"+q.Encode(), "", "", ""); code != 200 || !strings.Contains(body, `"total":"1"`) {
		t.Fatalf("getVoipCalls array: %d %s", code, body)
	}
	// listCdrIds from id 1, simple output with ISO dates.
	code, body, _ = vmDo(t, "POST", api, "", "", `{"task": "listCdrIds", "user": "voipmonitor", "password": "voipmonitor", "flags": 3, "params": {"offset":"1","size":"10"}}`)
	if code != 200 || !strings.Contains(body, `"cdrId":"`+cdrID+`"`) || !strings.Contains(body, "T") || strings.Contains(body, `"caller"`) {
		t.Fatalf("listCdrIds: %d %s", code, body)
	}
	// getPCAP by the caller's Call-ID.
	q = url.Values{"task": {"getPCAP"}, "user": {"voipmonitor"}, "password": {"voipmonitor"}, "params": {`{"callId":"` + cdr.CallID + `","cidInterval":60,"cidMerge":true}`}}
	code, body, _ = vmDo(t, "GET", api+"?"+q.Encode(), "", "", "")
	if code != 200 {
		t.Fatalf("getPCAP: %d %s", code, body)
	}
	msgs, err := capture.ReadSIPFrom(strings.NewReader(body), false)
	if err != nil || len(msgs) == 0 || msgs[0].Method != "INVITE" {
		t.Fatalf("pcap SIP: %v %v", msgs, err)
	}
	if streams, err := capture.ReadRTP(strings.NewReader(body)); err != nil || len(streams) < 2 {
		t.Fatalf("pcap RTP: %d streams, %v", len(streams), err)
	}
	// getVoiceRecording: the capture decoded, stereo.
	q.Set("task", "getVoiceRecording")
	q.Set("params", `{"cdrId":`+cdrID+`,"stereo":true,"saveaudio_afterconnect":"yes"}`)
	code, body, _ = vmDo(t, "GET", api+"?"+q.Encode(), "", "", "")
	if code != 200 || len(body) < 44+8000*4 || body[:4] != "RIFF" || body[8:16] != "WAVEfmt " {
		t.Fatalf("getVoiceRecording: %d %d bytes %.60q", code, len(body), body)
	}
	var left, right []int16
	pcm := []byte(body[44:])
	for i := 0; i+3 < len(pcm); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(pcm[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(pcm[i+2:])))
	}
	cands := []float64{350, 425, 440, 1000}
	if fl, fr := media.DominantFrequency(left, 8000, cands), media.DominantFrequency(right, 8000, cands); fl != 1000 || fr != 440 {
		t.Fatalf("WAV tones: left %v right %v", fl, fr)
	}
	// pcap.php and pcap2text.php with the GUI session.
	cookie := vmLogin(t, base)
	code, body, _ = vmDo(t, "GET", base+"/php/pcap.php?id="+cdrID+"&disable_rtp=1", cookie, "", "")
	if code != 200 {
		t.Fatalf("pcap.php: %d %s", code, body)
	}
	if msgs, err := capture.ReadSIPFrom(strings.NewReader(body), false); err != nil || len(msgs) == 0 {
		t.Fatalf("pcap.php SIP: %v", err)
	}
	if streams, _ := capture.ReadRTP(strings.NewReader(body)); len(streams) != 0 {
		t.Fatalf("disable_rtp kept %d RTP streams", len(streams))
	}
	code, body, _ = vmDo(t, "POST", base+"/php/pcap2text.php?action=brief_data&id="+cdrID+"&dns_lookup=0&ip_not_allowed=10.1.1.1,10.2.2.0/24", cookie, "", "")
	var brief struct {
		Results []map[string]any `json:"results"`
		Total   int              `json:"total"`
		Success bool             `json:"success"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &brief) != nil || !brief.Success || brief.Total == 0 || brief.Results[0]["protocol"] != "SIP/SDP" ||
		!strings.HasPrefix(brief.Results[0]["msg"].(string), "INVITE sip:1001@") || brief.Results[0]["num"] != "1" {
		t.Fatalf("brief_data: %d %.400s", code, body)
	}
	// dns_lookup=1: names in src and dst (this host's /etc/hosts names
	// 127.0.0.1), addresses kept in srcip and dstip.
	code, body, _ = vmDo(t, "POST", base+"/php/pcap2text.php?action=brief_data&id="+cdrID+"&dns_lookup=1", cookie, "", "")
	if code != 200 || !strings.Contains(body, `"srcip":"127.0.0.1"`) || strings.Contains(body, `"src":"127.0.0.1"`) {
		t.Fatalf("dns_lookup: %d %.300s", code, body)
	}
	code, body, _ = vmDo(t, "POST", base+"/php/pcap2text.php?action=brief_data&id="+cdrID+"&ip_not_allowed=127.0.0.0/8", cookie, "", "")
	if code != 200 || !strings.Contains(body, `"total":0`) || strings.Contains(body, "127.0.0.1") {
		t.Fatalf("hidden loopback: %d %s", code, body)
	}
	// getShareURL: a signed link to the call's legs with RTP; its page and
	// PCAP open without credentials, a tampered link does not.
	q.Set("task", "getShareURL")
	q.Set("params", `{"callId":"`+cdr.CallID+`","cidInterval":60,"rtp":true}`)
	code, body, _ = vmDo(t, "GET", api+"?"+q.Encode(), "", "", "")
	var share struct {
		Success bool   `json:"success"`
		URL     string `json:"url"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &share) != nil || !share.Success || !strings.HasPrefix(share.URL, base+"/php/share.php?") {
		t.Fatalf("getShareURL: %d %s", code, body)
	}
	if code, page, _ := vmDo(t, "GET", share.URL, "", "", ""); code != 200 || !strings.Contains(page, "INVITE sip:1001@") || !strings.Contains(page, "PCAP (SIP and RTP)") {
		t.Fatalf("share page: %d %.300s", code, page)
	}
	if code, pcap, _ := vmDo(t, "GET", share.URL+"&download=1", "", "", ""); code != 200 {
		t.Fatalf("share pcap: %d %.200s", code, pcap)
	} else if streams, err := capture.ReadRTP(strings.NewReader(pcap)); err != nil || len(streams) < 2 {
		t.Fatalf("share pcap RTP: %d %v", len(streams), err)
	}
	for _, tampered := range []string{strings.Replace(share.URL, "mode=rtp", "mode=history", 1), strings.Replace(share.URL, "ids=", "ids=1%2C", 1), share.URL[:len(share.URL)-3]} {
		if code, body, _ := vmDo(t, "GET", tampered, "", "", ""); code != 403 || !strings.Contains(body, "permission denied") {
			t.Errorf("tampered link %s: %d %.100s", tampered, code, body)
		}
	}
	// utilities.php shareCdr: the local public link opens alone, the
	// local private one only with a session.
	for sub, needsLogin := range map[string]bool{"self_protected_link": false, "share_link": false, "self_login_link": true} {
		f := url.Values{"task": {"shareCdr"}, "params": {`{"type":"share_cdr_show","type2":null,"subType":"` + sub + `","id":[` + cdrID + `],"emailFields":null}`}}
		code, body, _ := vmDo(t, "POST", base+"/php/model/utilities.php", cookie, "application/x-www-form-urlencoded", f.Encode())
		if code != 200 || json.Unmarshal([]byte(body), &share) != nil {
			t.Fatalf("shareCdr %s: %d %s", sub, code, body)
		}
		code, page, _ := vmDo(t, "GET", share.URL, "", "", "")
		if needsLogin && code != 401 || !needsLogin && (code != 200 || !strings.Contains(page, "PCAP (SIP)")) {
			t.Errorf("shareCdr %s link without a session: %d", sub, code)
		}
		if code, _, _ := vmDo(t, "GET", share.URL, cookie, "", ""); code != 200 {
			t.Errorf("shareCdr %s link with a session: %d", sub, code)
		}
	}
	// listActiveCalls during a live call.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.Call(ctx, "2001", "1002", 3*time.Second)
	}()
	found := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !found; time.Sleep(100 * time.Millisecond) {
		_, body, _ := vmDo(t, "POST", api, "", "", `{"task": "listActiveCalls", "user": "voipmonitor", "password": "voipmonitor", "params": {"sensorId": "1"}}`)
		found = strings.Contains(body, `"called":"1002"`) && strings.Contains(body, `"state":"connected"`) && strings.Contains(body, `"codec":"PCMU"`) &&
			strings.Contains(body, `"a_saddr":"127.0.0.1"`) && strings.Contains(body, `"b_payload":"0"`) && strings.Contains(body, `"sipcallerip":"127.0.0.1"`) &&
			!strings.Contains(body, `"b_received":null`) && !strings.Contains(body, `"a_mos_f1":null`)
	}
	<-done
	if !found {
		t.Fatal("listActiveCalls never showed the live call with its codec, addresses and quality so far")
	}
	// Licence, a wrong password, a user without the rights.
	if code, body, _ := vmDo(t, "GET", base+"/php/apilicensecheck.php?task=licenseCheck", "", "", ""); code != 200 || body != `{"status":0,"message":"License OK."}`+"\n" {
		t.Fatalf("licenseCheck: %d %s", code, body)
	}
	if code, body, _ := vmDo(t, "POST", api, "", "", `{"task": "getVoipCalls", "user": "voipmonitor", "password": "x", "params": {"startTime": "2013-01-01"}}`); code != 401 || !strings.Contains(body, `"success":false`) {
		t.Fatalf("wrong password: %d %s", code, body)
	}
	for _, task := range []string{"getVoipCalls", "getPCAP", "getVoiceRecording", "listCdrIds"} {
		code, body, _ := vmDo(t, "POST", api, "", "", `{"task": "`+task+`", "user": "2001", "password": "demo", "params": {"startTime": "`+today+`", "cdrId": "`+cdrID+`"}}`)
		if code != 403 || strings.Contains(body, "RIFF") || !bytes.Contains([]byte(body), []byte("permission denied")) {
			t.Errorf("%s as a user: %d %.100s", task, code, body)
		}
	}
}

// TestVoIPmonitorPauseCall: handleActiveCall pausecall during a live call
// (no recording running) pauses its capture's audio: the WAV decoded from
// the PCAP afterwards has both tones before and after the pause and
// silence inside it.
func TestVoIPmonitorPauseCall(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	api := base + "/php/api.php"
	p := phone(t, n, "2001")
	sub := n.Core().Subscribe("MojaCentrala", 1000)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { _, _ = p.Call(ctx, "2001", "1002", 4*time.Second) }()
	var ref string
	for deadline := time.Now().Add(5 * time.Second); ref == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body, _ := vmDo(t, "POST", api, "", "", `{"task": "listActiveCalls", "user": "voipmonitor", "password": "voipmonitor"}`)
		var l struct {
			Rows []map[string]*string `json:"rows"`
		}
		if json.Unmarshal([]byte(body), &l) == nil && len(l.Rows) == 1 && deref(l.Rows[0]["state"]) == "connected" {
			ref = deref(l.Rows[0]["callRef"])
		}
	}
	if ref == "" {
		t.Fatal("the call never showed as connected")
	}
	handle := func(cmd string) {
		t.Helper()
		code, body, _ := vmDo(t, "POST", api, "", "", `{"task": "handleActiveCall", "user": "voipmonitor", "password": "voipmonitor", "params": {"sensorId": "1","command":"`+cmd+`","callRef":"`+ref+`"}}`)
		if code != 200 || !strings.Contains(body, `"capture":true`) || !strings.Contains(body, `"recording":false`) {
			t.Fatalf("%s: %d %s", cmd, code, body)
		}
	}
	time.Sleep(time.Second)
	handle("pausecall")
	time.Sleep(time.Second)
	handle("unpausecall")
	cdr := waitCallEnded(t, sub)
	q := url.Values{"task": {"getVoiceRecording"}, "user": {"voipmonitor"}, "password": {"voipmonitor"},
		"params": {fmt.Sprintf(`{"cdrId":%d,"stereo":true,"saveaudio_afterconnect":true}`, cdr.ID)}}
	code, body, _ := vmDo(t, "GET", api+"?"+q.Encode(), "", "", "")
	if code != 200 || len(body) < 44+4*8000*3 {
		t.Fatalf("getVoiceRecording: %d %d bytes", code, len(body))
	}
	var left, right []int16
	pcm := []byte(body[44:])
	for i := 0; i+3 < len(pcm); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(pcm[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(pcm[i+2:])))
	}
	sec := func(s []int16, from, to float64) []int16 { return s[int(from*8000):min(len(s), int(to*8000))] }
	cands := []float64{350, 425, 440, 1000}
	for _, w := range [][2]float64{{0.2, 0.8}, {2.7, 3.3}} {
		if fl, fr := media.DominantFrequency(sec(left, w[0], w[1]), 8000, cands), media.DominantFrequency(sec(right, w[0], w[1]), 8000, cands); fl != 1000 || fr != 440 {
			t.Errorf("%.1f-%.1f s: left %v Hz, right %v Hz", w[0], w[1], fl, fr)
		}
	}
	for name, ch := range map[string][]int16{"left": left, "right": right} {
		for i, v := range sec(ch, 1.45, 1.85) {
			if v != 0 {
				t.Fatalf("%s sample %d of the paused second is %d, want silence", name, i, v)
			}
		}
	}
}
