package node

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/webhook"
)

// smsAPI is a message as GET /api/v1/sms/{id} shows it.
type smsAPI struct {
	ID       string `json:"id"`
	From     string `json:"from"`
	To       string `json:"to"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
	Cost     *int64 `json:"cost"`
	Zone     string `json:"zone"`
}

func apiDo(t *testing.T, n *Node, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.HTTPAddr().String()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer MyExampleKey")
	req.Header.Set("Content-Type", "application/json")
	return roundTrip(t, req)
}

func sendSMS(t *testing.T, n *Node, to string) smsAPI {
	t.Helper()
	code, body := apiDo(t, n, "POST", "/api/v1/sms", fmt.Sprintf(`{"to":%q,"body":"Zażółć gęślą jaźń"}`, to))
	var m smsAPI
	if err := json.Unmarshal([]byte(body), &m); err != nil || code != 202 || m.State != "QUEUE" {
		t.Fatalf("send to %s: %d %s", to, code, body)
	}
	return m
}

func waitSMS(t *testing.T, n *Node, id, state string) smsAPI {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := apiGet(t, n, "/api/v1/sms/"+id)
		var m smsAPI
		json.Unmarshal([]byte(body), &m)
		if code == 200 && m.State == state {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("sms %s: %d %s, want %s", id, code, body, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// smsCDR is the message's CDR through the native API (it follows the
// stored final state by moments, and precedes its event).
func smsCDR(t *testing.T, n *Node, id string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		code, body := apiGet(t, n, "/api/v1/cdrs?uniqueid="+id)
		var page struct {
			CDRs []map[string]any `json:"cdrs"`
		}
		err := json.Unmarshal([]byte(body), &page)
		if err == nil && code == 200 && len(page.CDRs) == 1 {
			return page.CDRs[0]
		}
		if err != nil || code != 200 || len(page.CDRs) > 1 || time.Now().After(deadline) {
			t.Fatalf("CDRs of %s: %d %s", id, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sipCarrier is a SIP peer on UDP (a sipgo user agent) standing for an
// operator's SMS interworking: it challenges every MESSAGE with a digest,
// checks the answer, and then answers by the number: ...404 with 404,
// ...503 with 503 the first time, anything else with 200.
type sipCarrier struct {
	addr      string
	mu        sync.Mutex
	bodies    map[string][]string // by number, authenticated MESSAGEs' bodies
	froms     []string
	ctypes    []string
	challenge atomic.Int32
	first503  sync.Once
}

var reDigestField = regexp.MustCompile(`(\w+)="?([^",]*)"?`)

func newSIPCarrier(t *testing.T, user, pass string) *sipCarrier {
	t.Helper()
	c := &sipCarrier{bodies: map[string][]string{}}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("carrier"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	const realm, nonce = "carrier", "5f0e3c0d"
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		h := req.GetHeader("Authorization")
		if h == nil {
			c.challenge.Add(1)
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5`, realm, nonce)))
			tx.Respond(res)
			return
		}
		f := map[string]string{}
		for _, m := range reDigestField.FindAllStringSubmatch(h.Value(), -1) {
			f[m[1]] = m[2]
		}
		md := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
		want := md(md(user+":"+realm+":"+pass) + ":" + nonce + ":" + md("MESSAGE:"+f["uri"]))
		if f["username"] != user || f["response"] != want {
			tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		number := req.Recipient.User
		c.mu.Lock()
		c.bodies[number] = append(c.bodies[number], string(req.Body()))
		c.froms = append(c.froms, req.From().Address.User)
		c.ctypes = append(c.ctypes, req.ContentType().Value())
		c.mu.Unlock()
		switch {
		case strings.HasSuffix(number, "404"):
			tx.Respond(sip.NewResponseFromRequest(req, 404, "Not Found", nil))
		case strings.HasSuffix(number, "503"):
			code, reason := 200, "OK"
			c.first503.Do(func() { code, reason = 503, "Service Unavailable" })
			tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
		default:
			tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		}
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close(); srv.Close(); ua.Close() })
	c.addr = conn.LocalAddr().String()
	return c
}

// TestSMSThroughSIPTrunk: with the sip driver a message is a real SIP
// MESSAGE over UDP from the node's engine to a carrier (a sipgo user
// agent), authenticated by the trunk's digest credentials; the final
// response is the delivery report (200 DELIVERED, 404 UNDELIVERED, a
// 503 retried), each with its CDR priced by the trunk's per_message rate.
func TestSMSThroughSIPTrunk(t *testing.T) {
	carrier := newSIPCarrier(t, "acme", "trunk-secret")
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		tn := &c.Tenants[0]
		tn.Trunks = append(tn.Trunks, config.Trunk{Name: "gsm", Address: carrier.addr, Transport: "udp", Username: "acme", Password: "trunk-secret",
			Prefix: "99999", Rates: []config.Rate{{Prefix: "48", Zone: "PL mobile", PerMessage: 7}}})
		tn.SMS = &config.SMS{Driver: "sip", From: "48221234567", RetryInitial: 50 * time.Millisecond}
		tn.SMS.SIP.Trunk = "gsm"
	})
	ok, missing, busy := sendSMS(t, n, "48600100200"), sendSMS(t, n, "48600100404"), sendSMS(t, n, "48600100503")
	got := waitSMS(t, n, ok.ID, "DELIVERED")
	if got.Attempts != 1 || got.Cost == nil || *got.Cost != 7 || got.Zone != "PL mobile" || got.From != "48221234567" {
		t.Fatalf("delivered: %+v", got)
	}
	if got := waitSMS(t, n, missing.ID, "UNDELIVERED"); !strings.Contains(got.Error, "404") {
		t.Fatalf("undelivered: %+v", got)
	}
	if got := waitSMS(t, n, busy.ID, "DELIVERED"); got.Attempts != 2 {
		t.Fatalf("retried: %+v", got)
	}
	carrier.mu.Lock()
	bodies, froms, ctypes := carrier.bodies["48600100200"], carrier.froms, carrier.ctypes
	carrier.mu.Unlock()
	if len(bodies) != 1 || bodies[0] != "Zażółć gęślą jaźń" || froms[0] != "48221234567" || !strings.HasPrefix(ctypes[0], "text/plain") || carrier.challenge.Load() < 4 {
		t.Fatalf("carrier got %v from %v (%v), %d challenges", bodies, froms, ctypes, carrier.challenge.Load())
	}
	if c := smsCDR(t, n, ok.ID); c["lastapp"] != "SMS" || c["dst"] != "48600100200" || c["disposition"] != "ANSWERED" || c["channel"] != "SMS/sip" {
		t.Fatalf("cdr %v", c)
	}
	if c := smsCDR(t, n, missing.ID); c["disposition"] != "NO ANSWER" {
		t.Fatalf("cdr %v", c)
	}
}

// gatewayStub is an HTTP SMS gateway: 503 while down, else 200 with its
// own id.
type gatewayStub struct {
	down  atomic.Bool
	calls atomic.Int32
}

func (g *gatewayStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	if g.down.Load() || r.Header.Get("Authorization") != "Bearer gw-key" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprint(w, `{"messageId":"gw-1"}`)
}

// TestSMSQueuedAcrossNodeRestart: a message queued while the HTTP
// gateway is down is still there after the node closes, and the node
// started again on the same SQLite file sends it; the gateway's delivery
// report then comes to the node's own listener (shared secret) and the
// message ends DELIVERED with its CDR.
func TestSMSQueuedAcrossNodeRestart(t *testing.T) {
	gw := &gatewayStub{}
	gw.down.Store(true)
	gsrv := httptest.NewServer(gw)
	defer gsrv.Close()
	dir := t.TempDir()
	start := func() *Node {
		cfg := config.Demo()
		s := &config.SMS{Driver: "http", From: "MojaCentrala", RetryInitial: time.Hour}
		s.HTTP.URL, s.HTTP.AuthHeader, s.HTTP.AuthValue = gsrv.URL+"/send", "Authorization", "Bearer gw-key"
		s.HTTP.Body, s.HTTP.RefPath, s.HTTP.CallbackSecret = `{"to":"{{to}}","text":"{{body}}"}`, "messageId", "callback-secret-0123"
		cfg.Tenants[0].SMS = s
		cfg.Listen.HTTP, cfg.Listen.SIP = "127.0.0.1:0", "127.0.0.1:0"
		cfg.RTP.PortMin, cfg.RTP.PortMax = 21000, 22998
		cfg.SetDataDir(dir)
		n, err := Start(context.Background(), cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	stop := func(n *Node) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	n := start()
	m := sendSMS(t, n, "48600100200")
	waitSMS(t, n, m.ID, "RENEWAL")
	stop(n)

	gw.down.Store(false)
	n = start()
	defer stop(n)
	got := waitSMS(t, n, m.ID, "ACCEPTED")
	if got.Attempts != 2 {
		t.Fatalf("after restart: %+v", got)
	}
	post := func(secret, body string) int {
		req, _ := http.NewRequest("POST", "http://"+n.HTTPAddr().String()+"/sms/status/MojaCentrala", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-SMS-Secret", secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("callback-secret-0124", "ref=gw-1&status=DELIVERED"); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	if code := post("callback-secret-0123", "ref=gw-1&status=DELIVERED&cost=11"); code != 204 {
		t.Fatalf("callback: %d", code)
	}
	got = waitSMS(t, n, m.ID, "DELIVERED")
	if got.Cost == nil || *got.Cost != 11 {
		t.Fatalf("delivered: %+v", got)
	}
	if c := smsCDR(t, n, m.ID); c["disposition"] != "ANSWERED" || c["channel"] != "SMS/http" {
		t.Fatalf("cdr %v", c)
	}
}

// TestCloudPBXSMSOnTheDemo: the spec's sendSMS against the demo (the sim
// gateway), then smsSendResponse on a real WebSocket client through every
// state to DELIVERED (and UNDELIVERED for a number ending 13), and each
// message's CDR in /cdr under its responseId with the sim's cost.
func TestCloudPBXSMSOnTheDemo(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/ws/pbx_MojaCentrala?pbxkey=MyExampleKey", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	send := func(to string) string {
		req, _ := http.NewRequest("POST", base+"/sendSMS", strings.NewReader("to="+to+"&body=Test"))
		req.Header.Set("Authorization", "Bearer MyExampleKey")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r struct {
			ID     *string `json:"responseId"`
			Status string  `json:"responseStatus"`
			Error  *string `json:"responseErrorMessage"`
		}
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil || res.StatusCode != 200 || r.ID == nil || r.Status != "QUEUE" || r.Error != nil {
			t.Fatalf("sendSMS %s: %d %+v %v", to, res.StatusCode, r, err)
		}
		return *r.ID
	}
	ok, bad := send("600100200"), send("600100213")
	seen := map[string][]string{}
	for !(len(seen[ok]) > 0 && seen[ok][len(seen[ok])-1] == "DELIVERED" && len(seen[bad]) > 0 && seen[bad][len(seen[bad])-1] == "UNDELIVERED") {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read (so far %v): %v", seen, err)
		}
		var m struct {
			Text struct {
				SMS *struct {
					MsgID  string `json:"MsgId"`
					To     string `json:"to"`
					Status string `json:"status"`
				} `json:"smsSendResponse"`
			} `json:"text"`
		}
		if json.Unmarshal(b, &m) != nil || m.Text.SMS == nil {
			continue
		}
		if !strings.HasPrefix(m.Text.SMS.To, "48600100") {
			t.Fatalf("to %s", b)
		}
		seen[m.Text.SMS.MsgID] = append(seen[m.Text.SMS.MsgID], m.Text.SMS.Status)
	}
	if fmt.Sprint(seen[ok]) != "[QUEUE ACCEPTED SENT DELIVERED]" || fmt.Sprint(seen[bad]) != "[QUEUE ACCEPTED SENT UNDELIVERED]" {
		t.Fatalf("states %v", seen)
	}
	req, _ := http.NewRequest("GET", base+"/cdr", nil)
	req.Header.Set("Authorization", "Bearer MyExampleKey")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for id, disp := range map[string]string{ok: "ANSWERED", bad: "NO ANSWER"} {
		if !strings.Contains(string(b), `"lastapp":"SMS","duration":0,"billsec":0,"disposition":"`+disp+`","uniqueid":"`+id+`","cost":"9"`) {
			t.Fatalf("CDR of %s: %s", id, b)
		}
	}
}

// TestSMSStatusThroughWebhooksAndReplay: sms.status events go through
// the core's event sequence like call events: a webhook subscribed to
// "sms.*" receives every state of a message, signed, and the native event
// stream replays them with since=N.
func TestSMSStatusThroughWebhooksAndReplay(t *testing.T) {
	var mu sync.Mutex
	var states []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify("0123456789abcdef", r.Header.Get("X-Switchboard-Signature"), body, time.Now(), time.Minute) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev struct {
			Type string            `json:"type"`
			Data map[string]string `json:"data"`
		}
		json.Unmarshal(body, &ev)
		mu.Lock()
		states = append(states, ev.Type+" "+ev.Data["status"])
		mu.Unlock()
	}))
	defer hook.Close()
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Tenants[0].Webhooks = []config.Webhook{{Name: "crm", URL: hook.URL, Secret: "0123456789abcdef", Events: []string{"sms.*"}}}
		c.Tenants[0].SMS.Sim.SendDelay, c.Tenants[0].SMS.Sim.DeliverDelay = 50*time.Millisecond, 50*time.Millisecond
	})
	m := sendSMS(t, n, "48600100200")
	waitSMS(t, n, m.ID, "DELIVERED")
	want := "[sms.status QUEUE sms.status ACCEPTED sms.status SENT sms.status DELIVERED]"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		got := fmt.Sprint(states)
		mu.Unlock()
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %s", got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Authorization", "Bearer MyExampleKey")
	c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/api/v1/events?since=0", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var replayed []string
	for len(replayed) < 4 {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("replay so far %v: %v", replayed, err)
		}
		var ev struct {
			Type string            `json:"type"`
			Data map[string]string `json:"data"`
		}
		json.Unmarshal(b, &ev)
		if ev.Type == "sms.status" && ev.Data["id"] == m.ID {
			replayed = append(replayed, ev.Data["status"])
		}
	}
	if fmt.Sprint(replayed) != "[QUEUE ACCEPTED SENT DELIVERED]" {
		t.Fatalf("replayed %v", replayed)
	}
}
