package native

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// smsFixture is the golden fixture with an outbox: a SQLite file, the
// sim driver (numbers ending 13 end UNDELIVERED), fixed ids and the
// fixture's clock, so responses and events are the same bytes each run.
func smsFixture(t *testing.T) *fixture {
	t.Helper()
	f := goldenFixture(t)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sms.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	box, err := sms.New(sms.Options{Store: st, CDRs: f.cdrs, Publisher: f.core, Now: f.clk.now,
		NewID: func() string { n++; return fmt.Sprint(3421756012963258480 + n) },
		Tenants: map[string]sms.TenantConfig{"a": {From: "Firma", Driver: &sms.Sim{SendDelay: 5 * time.Millisecond, DeliverDelay: 5 * time.Millisecond,
			FailSuffixes: []string{"13"}, Cost: 9}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := box.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close(); st.Close() })
	f.api.svc.WithSMS(box)
	return f
}

// TestGoldenSMS pins the native SMS API and its sms.status events byte
// for byte, through a real HTTP and WebSocket client: send (202 with
// Location), a test send (200, nothing stored), bad input, read and list
// (an admin key sees every message, a user only its own), and the event
// stream of two messages, one DELIVERED and one UNDELIVERED.
func TestGoldenSMS(t *testing.T) {
	f := smsFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Authorization", "Bearer key-crm")
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/events", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var transcript bytes.Buffer
	call := func(record bool, method, path, cred, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		if strings.HasPrefix(cred, "Bearer ") {
			req.Header.Set("Authorization", cred)
		} else if u, p, ok := strings.Cut(cred, ":"); ok {
			req.SetBasicAuth(u, p)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if record {
			fmt.Fprintf(&transcript, "### %s %s\n%d %s %s\n%s\n", method, path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Location"), b)
		}
		return res.StatusCode, string(b)
	}
	step := func(method, path, cred, body string) string {
		t.Helper()
		_, b := call(true, method, path, cred, body)
		return b
	}
	wait := func(id, cred, state string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, b := call(false, "GET", "/api/v1/sms/"+id, cred, "")
			var m wireSMS
			json.Unmarshal([]byte(b), &m)
			if m.State == state {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached %s: %s", id, state, b)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	key, user := "Bearer key-crm", "u1001:user-pass-1"
	var sent wireSMS
	json.Unmarshal([]byte(step("POST", "/api/v1/sms", key, `{"to":"48600100200","body":"Zażółć gęślą jaźń"}`)), &sent)
	wait(sent.ID, key, "DELIVERED")
	step("GET", "/api/v1/sms/"+sent.ID, key, "")
	step("POST", "/api/v1/sms", key, `{"to":"48600100200","body":"próba","test":true}`)
	step("POST", "/api/v1/sms", key, `{"to":"6001002x","body":"x"}`)
	step("POST", "/api/v1/sms", key, `{"to":"600100200","body":""}`)
	step("POST", "/api/v1/sms", key, `{"to":"600100200","body":"`+strings.Repeat("x", 1025)+`"}`)
	step("POST", "/api/v1/sms", key, `{"to":"600100200","text":"x"}`)
	var mine wireSMS
	json.Unmarshal([]byte(step("POST", "/api/v1/sms", user, `{"to":"48600100213","body":"do użytkownika"}`)), &mine)
	wait(mine.ID, user, "UNDELIVERED")
	step("GET", "/api/v1/sms", key, "")
	step("GET", "/api/v1/sms?state=undelivered&limit=1", key, "")
	step("GET", "/api/v1/sms", user, "")
	step("GET", "/api/v1/sms/"+sent.ID, user, "")
	step("GET", "/api/v1/sms/999", key, "")
	step("GET", "/api/v1/sms?state=EXPIRED", key, "")
	step("GET", "/api/v1/sms?state=LOST", key, "")
	step("GET", "/api/v1/sms?from=yesterday", key, "")
	step("DELETE", "/api/v1/sms/"+sent.ID, key, "")
	step("GET", "/api/v1/sms", "", "")
	golden(t, "sms_session.txt", transcript.Bytes())

	var events bytes.Buffer
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("events so far:\n%s\n%v", events.String(), err)
		}
		events.Write(b)
		events.WriteByte('\n')
		if bytes.Contains(b, []byte(`"status":"UNDELIVERED"`)) {
			break
		}
	}
	golden(t, "sms_events.jsonl", events.Bytes())
	rows, total, _ := f.cdrs.QueryCDRs(ctx, pbx.CDRFilter{Tenant: "a", Limit: 100})
	found := 0
	for _, c := range rows {
		if c.UniqueID == sent.ID || c.UniqueID == mine.ID {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("%d CDRs of %d are the messages'", found, total)
	}
}
