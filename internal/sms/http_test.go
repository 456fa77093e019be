package sms_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
)

// gateway is a local HTTP SMS gateway stub: it answers 503 to the first
// fail requests, then 200 with its own id, and records what it got.
type gateway struct {
	mu   sync.Mutex
	fail int
	reqs []gwReq
}

type gwReq struct {
	method, path, query, auth, ctype string
	body                             map[string]string
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]string
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "bad json: "+string(raw), http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reqs = append(g.reqs, gwReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Api-Key"), r.Header.Get("Content-Type"), body})
	if len(g.reqs) <= g.fail {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if body["to"] == "48600100299" {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"error":"no such subscriber"}`)
		return
	}
	fmt.Fprintf(w, `{"data":{"id":"gw-%d"}}`, len(g.reqs))
}

// TestHTTPGateway: the http driver fills its templates (JSON-escaped
// body, query-escaped URL), sends the auth header, retries the stub's
// 503s, keeps the gateway's id from its answer; the gateway's status
// callback, on our own HTTP handler, moves the message to DELIVERED with
// its cost only with the right secret; a 422 rejects a message.
func TestHTTPGateway(t *testing.T) {
	gw := &gateway{fail: 2}
	gsrv := httptest.NewServer(gw)
	defer gsrv.Close()
	drv := &sms.HTTP{URL: gsrv.URL + "/send?to={{to}}&id={{id}}", AuthHeader: "X-API-Key", AuthValue: "k-123",
		Body: `{"to":"{{to}}","from":"{{from}}","text":"{{body}}","ref":"{{id}}"}`, RefPath: "data.id", Timeout: 2 * time.Second}
	r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: drv, From: "Firma \"X\"", RetryInitial: 10 * time.Millisecond,
		CallbackSecret: "s3cret-callback-key"}, nil)
	cb := httptest.NewServer(r.box.CallbackHandler())
	defer cb.Close()
	ctx := context.Background()
	text := "Cześć \"Jan\" & <co>\nnowa linia"
	m, err := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "+48600100200", Body: text})
	if err != nil {
		t.Fatal(err)
	}
	got := waitState(t, r, m.ID, sms.Accepted)
	if got.Ref != "gw-3" || got.Attempts != 3 {
		t.Fatalf("accepted: %+v", got)
	}
	gw.mu.Lock()
	last := gw.reqs[2]
	gw.mu.Unlock()
	if last.method != "POST" || last.path != "/send" || last.auth != "k-123" || last.ctype != "application/json" ||
		last.body["text"] != text || last.body["from"] != "Firma \"X\"" || last.body["ref"] != m.ID {
		t.Fatalf("gateway got %+v", last)
	}
	if q, _ := url.ParseQuery(last.query); q.Get("to") != "+48600100200" || q.Get("id") != m.ID {
		t.Fatalf("query %q", last.query)
	}

	post := func(ctype, body string, hdr map[string]string, query string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", cb.URL+"/sms/status/t1"+query, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	good := map[string]string{"X-SMS-Secret": "s3cret-callback-key"}
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, ctype, body string
		hdr               map[string]string
		query             string
		want              int
	}{
		{"no secret", form, "ref=gw-3&status=DELIVERED", nil, "", 401},
		{"wrong secret", form, "ref=gw-3&status=DELIVERED", map[string]string{"X-SMS-Secret": "s3cret-callback-kez"}, "", 401},
		{"prefix of the secret", form, "ref=gw-3&status=DELIVERED", map[string]string{"X-SMS-Secret": "s3cret"}, "", 401},
		{"bad status", form, "ref=gw-3&status=GONE", good, "", 400},
		{"neither id nor ref", form, "status=SENT", good, "", 400},
		{"bad cost", form, "ref=gw-3&status=SENT&cost=-1", good, "", 400},
		{"bad json", "application/json", "{", good, "", 400},
		{"unknown ref", form, "ref=gw-999&status=SENT", good, "", 404},
		{"sent, secret in the query", form, "ref=gw-3&status=sent", nil, "?secret=s3cret-callback-key", 204},
		{"delivered, json", "application/json", `{"ref":"gw-3","status":"DELIVERED","cost":7}`, good, "", 204},
	} {
		if got := post(tc.ctype, tc.body, tc.hdr, tc.query); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	req, _ := http.NewRequest("POST", cb.URL+"/sms/status/t9", strings.NewReader("ref=gw-3&status=SENT"))
	req.Header.Set("X-SMS-Secret", "s3cret-callback-key")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("another tenant: %v %v", res.StatusCode, err)
	}
	if res, err := http.Get(cb.URL + "/sms/status/t1"); err != nil || res.StatusCode != 405 {
		t.Errorf("GET: %v %v", res.StatusCode, err)
	}
	done := waitState(t, r, m.ID, sms.Delivered)
	if !done.Rated || done.Cost != 7 || done.Sent.IsZero() {
		t.Fatalf("delivered: %+v", done)
	}
	r.ev.wait(t, m.ID, "[QUEUE RENEWAL ACCEPTED SENT DELIVERED]")
	if c := cdrOf(t, r, m.ID); c.Cost != 7 || c.Disposition != pbx.DispAnswered || c.Channel != "SMS/http" {
		t.Fatalf("cdr %+v", c)
	}

	bad, _ := r.box.Send(ctx, sms.Request{Tenant: "t1", To: "48600100299", Body: "x"})
	if got := waitState(t, r, bad.ID, sms.Rejected); !strings.Contains(got.Error, "no such subscriber") {
		t.Fatalf("rejected: %+v", got)
	}
}

// TestHTTPGatewayRedirectNotFollowed: a 3xx from the gateway fails the
// message; the credential header never reaches the redirect's target.
func TestHTTPGatewayRedirectNotFollowed(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-API-Key") != "")
	}))
	defer other.Close()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	defer gw.Close()
	r := start(t, filepath.Join(t.TempDir(), "sms.db"), sms.TenantConfig{Driver: &sms.HTTP{URL: gw.URL, AuthHeader: "X-API-Key", AuthValue: "k", Body: "{}"}}, nil)
	m, _ := r.box.Send(context.Background(), sms.Request{Tenant: "t1", To: "600100200", Body: "x"})
	if got := waitState(t, r, m.ID, sms.Failed); !strings.Contains(got.Error, "307") || leaked.Load() {
		t.Fatalf("%+v, leaked %v", got, leaked.Load())
	}
}
