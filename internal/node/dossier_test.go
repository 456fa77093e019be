package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func apiCall(t *testing.T, n *Node, method, path, auth, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.HTTPAddr().String()+path, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestCallDossier: a demo call 1001 -> 1002, recorded, then transferred
// (1002 leaves, 1003 takes its place) and hung up, has one dossier with
// the three parties, the transfer naming the channel that left, the
// recording with its audio link, the CDR with its capture links and the
// events in order; a user of extension 1004 cannot see it.
func TestCallDossier(t *testing.T) {
	n := startDemo(t)
	const key = "Bearer MyExampleKey"
	sub := n.Core().Subscribe("MojaCentrala", 1024)
	defer sub.Close()
	id := originate(t, n, `{"from":"1001","to":"1002"}`)
	waitCallEvent(t, sub, "call.answered", id)
	if code, b := apiCall(t, n, "POST", "/api/v1/recordings", key, `{"call":"`+id+`"}`); code != 201 {
		t.Fatalf("record: %d %s", code, b)
	}
	time.Sleep(500 * time.Millisecond)
	// The live dossier already has the call.
	code, b := apiCall(t, n, "GET", "/api/v1/calls/"+id+"/dossier", key, "")
	if code != 200 || !strings.Contains(string(b), `"live":true`) {
		t.Fatalf("live dossier: %d %s", code, b)
	}
	call, err := n.Core().FindCall("MojaCentrala", id)
	if err != nil || len(call.Channels) != 2 {
		t.Fatalf("call %+v %v", call, err)
	}
	first, left := call.Channels[0].UniqueID, call.Channels[1].UniqueID
	if code, b := apiCall(t, n, "POST", "/api/v1/channels/"+first+"/redirect", key, `{"to":"1003"}`); code != 202 {
		t.Fatalf("redirect: %d %s", code, b)
	}
	waitCallEvent(t, sub, "call.transferred", id)
	time.Sleep(time.Second)
	if err := n.Core().Hangup(context.Background(), "MojaCentrala", id); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, sub, "call.ended", id)

	var d struct {
		CallID  string `json:"call_id"`
		Live    bool   `json:"live"`
		Parties []struct {
			UniqueID string `json:"uniqueid"`
			Exten    string `json:"exten"`
			Replaced string `json:"replaced_by"`
		} `json:"parties"`
		Transfers []struct {
			Replaces string `json:"replaces"`
			Channel  struct {
				Exten string `json:"exten"`
			} `json:"channel"`
		} `json:"transfers"`
		Recordings []struct {
			Audio string `json:"audio_url"`
			State string `json:"state"`
		} `json:"recordings"`
		CDRs []struct {
			UniqueID string `json:"uniqueid"`
			PCAP     string `json:"pcap_url"`
		} `json:"cdrs"`
		Events []struct {
			Seq  uint64 `json:"seq"`
			Type string `json:"type"`
		} `json:"events"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for { // the event log and the CDR are written just after call.ended
		code, b = apiCall(t, n, "GET", "/api/v1/calls/"+id+"/dossier", key, "")
		if code != 200 {
			t.Fatalf("dossier: %d %s", code, b)
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if !d.Live && len(d.CDRs) > 0 && len(d.Events) > 0 && d.Events[len(d.Events)-1].Type == "call.ended" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dossier never complete: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	exts := map[string]bool{}
	for _, p := range d.Parties {
		exts[p.Exten] = true
		if p.UniqueID == left && p.Replaced == "" {
			t.Errorf("party %s left in the transfer but names no replacement", left)
		}
	}
	if !exts["1001"] || !exts["1002"] || !exts["1003"] {
		t.Errorf("parties %+v, want 1001, 1002 and 1003", d.Parties)
	}
	if len(d.Transfers) != 1 || d.Transfers[0].Replaces != left || d.Transfers[0].Channel.Exten != "1003" {
		t.Errorf("transfers %+v, want 1002 (%s) replaced by 1003", d.Transfers, left)
	}
	if len(d.Recordings) != 1 || !strings.HasPrefix(d.Recordings[0].Audio, "/api/v1/recordings/") {
		t.Errorf("recordings %+v", d.Recordings)
	} else if code, b := apiCall(t, n, "GET", d.Recordings[0].Audio, key, ""); code != 200 || len(b) < 44 || string(b[:4]) != "RIFF" {
		t.Errorf("recording audio: %d, %d bytes", code, len(b))
	}
	if d.CDRs[0].UniqueID != id || !strings.HasSuffix(d.CDRs[0].PCAP, "/pcap") {
		t.Errorf("cdrs %+v", d.CDRs)
	} else if code, b := apiCall(t, n, "GET", d.CDRs[0].PCAP, key, ""); code != 200 || len(b) < 24 {
		t.Errorf("pcap link: %d, %d bytes", code, len(b))
	}
	for i := 1; i < len(d.Events); i++ {
		if d.Events[i].Seq <= d.Events[i-1].Seq {
			t.Fatalf("events out of order at %d: %+v", i, d.Events)
		}
	}
	if d.Events[0].Type != "call.new" {
		t.Errorf("first event %s", d.Events[0].Type)
	}
	// Another extension's user sees nothing of it; an unknown call is 404.
	if code, b := apiCall(t, n, "GET", "/api/v1/calls/"+id+"/dossier", "Basic MTAwNDpkZW1v", ""); code != 404 {
		t.Errorf("1004's user got the dossier: %d %s", code, b)
	}
	if code, _ := apiCall(t, n, "GET", "/api/v1/calls/999.999/dossier", key, ""); code != 404 {
		t.Errorf("unknown call: %d", code)
	}
}
