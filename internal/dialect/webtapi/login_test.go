package webtapi

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLogin: a POST login (form-encoded or multipart, action in the URL
// or the body, or no action at all) answers a session id in plain text
// that works as SID; every failure, and a GET login whatever it carries,
// answers 0.
func TestLogin(t *testing.T) {
	f := newFixture(t)
	good := url.Values{"AUTH[user]": {"1004"}, "AUTH[pass]": {"demo"}}
	for _, tc := range []struct {
		name string
		do   func() (int, string, string)
	}{
		{"form, action in URL", func() (int, string, string) { return f.post(t, "action=login", good) }},
		{"form, action in body", func() (int, string, string) {
			return f.post(t, "", url.Values{"action": {"login"}, "AUTH[user]": {"1004"}, "AUTH[pass]": {"demo"}})
		}},
		{"form, no action", func() (int, string, string) { return f.post(t, "", good) }},
		{"multipart", func() (int, string, string) {
			return f.postMultipart(t, "action=login", [][2]string{{"AUTH[user]", "1004"}, {"AUTH[pass]", "demo"}})
		}},
		{"multipart, action in body", func() (int, string, string) {
			return f.postMultipart(t, "", [][2]string{{"action", "login"}, {"AUTH[user]", "admin"}, {"AUTH[pass]", "admin"}})
		}},
	} {
		code, sid, e := tc.do()
		if code != 200 || sid == "0" || e != "" || len(sid) < 32 || strings.ContainsAny(sid, "\r\n ") {
			t.Fatalf("%s: %d %q %s", tc.name, code, sid, e)
		}
		if _, body, e := f.get(t, "action=call_status_get&filter=1004&SID="+url.QueryEscape(sid)); body != "1004:4\n" {
			t.Fatalf("%s: the session does not work: %q %s", tc.name, body, e)
		}
	}
	for _, tc := range []struct {
		name string
		do   func() (int, string, string)
	}{
		{"GET with the password in the URL", func() (int, string, string) {
			return f.get(t, "action=login&AUTH[user]=1004&AUTH[pass]=demo")
		}},
		{"GET without credentials", func() (int, string, string) { return f.get(t, "action=login") }},
		{"password in the URL of a POST", func() (int, string, string) {
			return f.post(t, "action=login&AUTH[pass]=demo", url.Values{"AUTH[user]": {"1004"}})
		}},
		{"wrong password", func() (int, string, string) {
			return f.post(t, "action=login", url.Values{"AUTH[user]": {"1004"}, "AUTH[pass]": {"wrong"}})
		}},
		{"unknown user", func() (int, string, string) {
			return f.post(t, "action=login", url.Values{"AUTH[user]": {"nobody"}, "AUTH[pass]": {"demo"}})
		}},
		{"no password", func() (int, string, string) { return f.post(t, "action=login", url.Values{"AUTH[user]": {"1004"}}) }},
		{"quoted keys", func() (int, string, string) {
			return f.post(t, "action=login", url.Values{`AUTH["user"]`: {"1004"}, `AUTH["pass"]`: {"demo"}})
		}},
		{"SQL in the name", func() (int, string, string) {
			return f.post(t, "action=login", url.Values{"AUTH[user]": {"' OR '1'='1"}, "AUTH[pass]": {"' OR '1'='1"}})
		}},
		{"NUL in the password", func() (int, string, string) {
			return f.post(t, "action=login", url.Values{"AUTH[user]": {"1004"}, "AUTH[pass]": {"demo\x00"}})
		}},
		{"JSON body", func() (int, string, string) {
			res, err := f.srv.Client().Post(f.srv.URL+Path+"?action=login", "application/json", strings.NewReader(`{"AUTH":{"user":"1004","pass":"demo"}}`))
			if err != nil {
				t.Fatal(err)
			}
			return read(t, res)
		}},
	} {
		if code, body, e := tc.do(); code != 200 || body != "0" || e == "" {
			t.Errorf("%s: %d %q %q, want 0", tc.name, code, body, e)
		}
	}
}

// TestSessions: no SID, a made-up, tampered, expired or logged-out SID
// answer 0 (bad_session) for every action, known or not, and change
// nothing.
func TestSessions(t *testing.T) {
	f := newFixture(t)
	sid := f.login(t, "admin", "admin")
	tampered := []byte(sid)
	tampered[5] ^= 1
	for _, bad := range []string{"", "SID=", "SID=198340c107a6d74c2230a1f39fb146bc", "SID=" + string(tampered), "SID=" + sid + "x", "SID=" + strings.ToUpper(sid)} {
		for _, action := range []string{"call&src=1004&dst=1001", "relay_status_set&relay_id=17&status=1", "call_list_all", "no_such_action"} {
			code, body, e := f.get(t, "action="+action+"&"+bad)
			if code != 200 || body != "0" || e != "bad_session" {
				t.Errorf("%s with %q: %d %q %s", action, bad, code, body, e)
			}
		}
	}
	if f.eng.actions() != 0 || f.rel.on[17] {
		t.Fatalf("a refused request changed something: %d engine actions, relay %v", f.eng.actions(), f.rel.on[17])
	}
	if _, body, _ := f.get(t, "action=relay_status_get&relay_id=17&SID="+sid); body != "0" {
		t.Fatalf("relay: %q", body)
	}
	// Idle expiry (30 minutes in this fixture).
	f.clock.add(31 * time.Minute)
	if _, body, e := f.get(t, "action=call_list_all&SID="+sid); body != "0" || e != "bad_session" {
		t.Fatalf("expired session: %q %s", body, e)
	}
	// Logout ends the session.
	sid = f.login(t, "admin", "admin")
	if _, body, _ := f.get(t, "action=logout&SID="+sid); body != "1" {
		t.Fatalf("logout: %q", body)
	}
	if _, body, e := f.get(t, "action=call_list_all&SID="+sid); body != "0" || e != "bad_session" {
		t.Fatalf("after logout: %q %s", body, e)
	}
	// A session of another tenant sees nothing of this one.
	sid = f.login(t, "inna", "inna-pass")
	if _, body, _ := f.get(t, "action=call_status_get&filter=1001&SID="+sid); body != "1001:-1\n" {
		t.Fatalf("another tenant's extension: %q", body)
	}
}
