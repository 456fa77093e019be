package cloudpbx

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func (f *fixture) wsURL(channel, key string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws/" + channel + "?pbxkey=" + key
}

func (f *fixture) dialWS(t *testing.T, url string, h http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, res, err
}

// wsMessage is a received message with its text decoded by event name.
type wsMessage struct {
	raw  string
	ID   uint64                     `json:"id"`
	Chan string                     `json:"channel"`
	Text map[string]json.RawMessage `json:"text"`
}

// readFor reads messages until one carries event name with a body
// containing every want substring.
func readFor(t *testing.T, c *websocket.Conn, name string, want ...string) wsMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s %v: %v", name, want, err)
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message is not JSON: %s", b)
		}
		m.raw = string(b)
		body, ok := m.Text[name]
		if !ok {
			continue
		}
		all := true
		for _, w := range want {
			all = all && strings.Contains(string(body), w)
		}
		if all {
			return m
		}
	}
}

// TestWebSocketAuth: the key is the pbxkey parameter or a Bearer header;
// a wrong key, another PBX's name or a path without pbx_ is 401.
func TestWebSocketAuth(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		url  string
		h    http.Header
		want int
	}{
		{f.wsURL("pbx_"+tenant, "wrong"), nil, 401},
		{f.wsURL("pbx_"+tenant, ""), nil, 401},
		{f.wsURL("pbx_"+otherPB, apiKey), nil, 401},
		{f.wsURL(tenant, apiKey), nil, 401},
		{f.wsURL("pbx_"+tenant, "OtherKey0123456"), nil, 401},
		{f.wsURL("pbx_"+tenant, ""), http.Header{"Authorization": {"Basic YWRtaW46YWRtaW4="}}, 401},
	} {
		_, res, err := f.dialWS(t, tc.url, tc.h)
		if err == nil || res == nil || res.StatusCode != tc.want {
			t.Errorf("%s: %v %v", tc.url, res, err)
		}
	}
	if _, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil); err != nil {
		t.Fatalf("pbxkey: %v", err)
	}
	if _, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, ""), http.Header{"Authorization": {"Bearer " + apiKey}}); err != nil {
		t.Fatalf("bearer header: %v", err)
	}
}

// TestWebSocketEvents: a real WebSocket client sees a /dial call as
// subscriber and extstatus events (ringing with the other party, then
// idle), a queue call as queue, an agent's pause as qmember, and a
// conference join and leave as cmember with the member's own caller id.
// The first message of each kind is pinned by a golden file.
func TestWebSocketEvents(t *testing.T) {
	f := newFixture(t)
	f.core.SetRegistration(tenant, "101", registered())
	c, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	golden := map[string]string{}
	if res, body := f.do(t, "GET", "/dial?cpa=101&cpb=200", "Bearer "+apiKey, "", ""); res.StatusCode != 200 || body != "OK" {
		t.Fatalf("dial: %d %s", res.StatusCode, body)
	}
	m := readFor(t, c, "subscriber", `"peer":"MojaCentrala-101"`, `"connectPeerNumber":"200"`)
	if m.Chan != "pbx_"+tenant || m.ID == 0 || m.Text["extstatus"] == nil {
		t.Fatalf("subscriber message %s", m.raw)
	}
	golden["ws_subscriber"] = m.raw
	calls, _ := f.core.Calls(tenant)
	if len(calls) != 1 {
		t.Fatalf("calls %v", calls)
	}
	if _, err := f.core.EndCall(context.Background(), tenant, calls[0].ID, pbx.EndNoAnswer, pbx.Quality{}); err != nil {
		t.Fatal(err)
	}
	m2 := readFor(t, c, "subscriber", `"peer":"MojaCentrala-101"`, `"statusValue":0`)
	if m2.ID <= m.ID {
		t.Fatalf("ids do not increase: %d then %d", m.ID, m2.ID)
	}
	golden["ws_subscriber_idle"] = m2.raw

	// A carrier call waits in Kolejka1.
	ch, _, err := f.core.NewCall(tenant, "600100200", "7000", false, pbx.ChannelSpec{Peer: "pstn", IsTrunk: true, Dir: pbx.Inbound,
		CallerIDNum: "600100200"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.core.QueueJoin(tenant, "Kolejka1", ch); err != nil {
		t.Fatal(err)
	}
	golden["ws_queue"] = readFor(t, c, "queue", `"peer":"Kolejka1"`, `"calls":"1"`).raw
	if _, err := f.core.QueuePause(tenant, "Kolejka1", "101", true, "lunch"); err != nil {
		t.Fatal(err)
	}
	golden["ws_qmember"] = readFor(t, c, "qmember", `"m_paused":"1"`, `"m_reason":"lunch"`).raw

	// 105 dials into the room SesjaRady: the member's caller id, not the room's.
	conf, _, err := f.core.NewCall(tenant, "105", "8000", false, pbx.ChannelSpec{Peer: "105", Exten: "105", Dir: pbx.Inbound,
		CallerIDNum: "105", CallerIDName: "Jan Nowak"})
	if err != nil {
		t.Fatal(err)
	}
	f.core.ConferenceJoined(tenant, "SesjaRady", conf)
	golden["ws_cmember_add"] = readFor(t, c, "cmember", `"action":"add"`, `"callerIDNum":"105"`, `"callerIDName":"Jan Nowak"`).raw
	f.core.ConferenceLeft(tenant, "SesjaRady", conf)
	golden["ws_cmember_remove"] = readFor(t, c, "cmember", `"action":"remove"`).raw

	// An SMS: the spec's curl, then smsSendResponse through to DELIVERED
	// (the spec's example event, its MsgId the responseId and its to the
	// international number), and the message's CDR under its id.
	res, body := f.do(t, "POST", "/sendSMS", "Bearer "+apiKey, "application/x-www-form-urlencoded", "to=600100200&body=Test")
	var resp struct {
		ID     string  `json:"responseId"`
		Status string  `json:"responseStatus"`
		Error  *string `json:"responseErrorMessage"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || res.StatusCode != 200 || resp.Status != "QUEUE" || resp.Error != nil || len(resp.ID) != 19 {
		t.Fatalf("sendSMS: %d %s", res.StatusCode, body)
	}
	golden["ws_sms_accepted"] = readFor(t, c, "smsSendResponse", `"status":"ACCEPTED"`).raw
	sent := readFor(t, c, "smsSendResponse", `"status":"SENT"`)
	// The spec's example, with its placeholders filled in.
	spec := strings.NewReplacer("3292468348841377230", resp.ID, "48XXXXXXXXX", "48600100200").Replace(`{
  "smsSendResponse": {
    "MsgId": "3292468348841377230",
    "to": "48XXXXXXXXX",
    "status": "SENT"
  }
}`)
	var specText, gotText any
	json.Unmarshal([]byte(spec), &specText)
	json.Unmarshal([]byte(mustText(t, sent.raw)), &gotText)
	if b1, b2 := mustJSON(t, specText), mustJSON(t, gotText); b1 != b2 {
		t.Fatalf("smsSendResponse is not the spec's example:\n got %s\nwant %s", b2, b1)
	}
	golden["ws_sms_sent"] = sent.raw
	golden["ws_sms_delivered"] = readFor(t, c, "smsSendResponse", `"status":"DELIVERED"`, `"MsgId":"`+resp.ID+`"`).raw
	day := time.Now().In(warsaw()).Format("2006-01-02")
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, body = f.do(t, "GET", "/cdr?datestart="+day, "Bearer "+apiKey, "", "")
		if strings.Contains(body, `"uniqueid":"`+resp.ID+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CDR for the SMS: %d %s", res.StatusCode, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(body, `"src":"MojaCentrala","dst":"48600100200","channel":"SMS/sim","dstchannel":"","lastapp":"SMS","duration":0,"billsec":0,"disposition":"ANSWERED","uniqueid":"`+resp.ID+`","cost":"9"`) {
		t.Fatalf("SMS CDR: %s", body)
	}

	for name, got := range golden {
		path := filepath.Join("testdata", "golden", name+".json")
		if *update {
			if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got+"\n" != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestWebSocketClientFrames: garbage from the client is dropped and the
// stream goes on; a frame over the read limit closes the connection with
// a WebSocket status, and the server keeps serving others.
func TestWebSocketClientFrames(t *testing.T) {
	f := newFixture(t)
	c, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, b := range [][]byte{[]byte("garbage"), {0xff, 0xfe, 0}, []byte(`{"id":1}`)} {
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	f.core.SetRegistration(tenant, "130", registered())
	readFor(t, c, "extstatus", `"exten":"130"`)

	big, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = big.Write(ctx, websocket.MessageBinary, make([]byte, 1<<20))
	_, _, err = big.Read(ctx)
	if s := websocket.CloseStatus(err); s != websocket.StatusMessageTooBig {
		t.Fatalf("huge frame: close status %v (%v)", s, err)
	}
	// The first stream still works.
	f.core.SetRegistration(tenant, "200", registered())
	readFor(t, c, "extstatus", `"exten":"200"`)
}

// TestCloseEndsStreams: closing the dialect ends its streams with
// StatusGoingAway and waits for them.
func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t)
	c, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	read := make(chan error, 1)
	go func() { // the client answers the close handshake while Close waits
		_, _, err := c.Read(ctx)
		read <- err
	}()
	if err := f.api.Close(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-read
	if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway {
		t.Fatalf("close status %v (%v)", s, err)
	}
}

// TestCloseWithSpentContext: with no stream open, Close succeeds even if
// the node's shutdown already spent its context.
func TestCloseWithSpentContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 20; i++ {
		if err := f.api.Close(ctx); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
}

// TestWebSocketStreamLimit: one key holds at most StreamsPerPrincipal
// streams; the next is refused with 429 until one closes.
func TestWebSocketStreamLimit(t *testing.T) {
	f := newFixture(t)
	f.api.conns.max = 1
	c, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, res, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil); err == nil || res == nil || res.StatusCode != 429 {
		t.Fatalf("second stream: %v %v", res, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, err := f.dialWS(t, f.wsURL("pbx_"+tenant, apiKey), nil)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream not released: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mustText is a message's text object.
func mustText(t *testing.T, raw string) string {
	t.Helper()
	var m struct {
		Text json.RawMessage `json:"text"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	return string(m.Text)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
