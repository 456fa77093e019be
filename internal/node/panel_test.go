package node

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/panel"
)

// panelLogin logs in the way the panel does and returns the session id
// and the cookie the API set.
func panelLogin(t *testing.T, n *Node, user, pass string) (string, *http.Cookie) {
	t.Helper()
	res, err := http.Post("http://"+n.HTTPAddr().String()+"/api/v1/sessions", "application/json",
		strings.NewReader(`{"user":"`+user+`","password":"`+pass+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		SID string `json:"sid"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated || out.SID == "" {
		t.Fatalf("login %s: %d %v", user, res.StatusCode, err)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "sb_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("login set no session cookie")
	}
	return out.SID, cookie
}

func panelDo(t *testing.T, n *Node, method, path, body string, hdr map[string]string, cookie *http.Cookie) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.HTTPAddr().String()+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return roundTrip(t, req)
}

// TestPanelServedByDemo: the demo node serves the panel at "/" with its
// CSP next to the API, VIPTel keeps its WebSocket at "/" (see
// TestDemoServesVIPTel), and the rights the panel shows come from the
// API, which enforces them.
func TestPanelServedByDemo(t *testing.T) {
	n := startDemo(t)
	code, page := panelDo(t, n, "GET", "/", "", nil, nil)
	if code != 200 || !strings.Contains(page, `content="/api/v1"`) || !strings.Contains(page, "/panel/") {
		t.Fatalf("GET /: %d\n%s", code, page)
	}
	req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr().String()+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Content-Security-Policy") != panel.CSP {
		t.Errorf("CSP %q", res.Header.Get("Content-Security-Policy"))
	}

	me := func(sid string) (rights []string, role, ext string) {
		code, body := panelDo(t, n, "GET", "/api/v1/sessions/current", "", map[string]string{"Authorization": "Session " + sid}, nil)
		var out struct {
			Role, Extension string
			Rights          []string
		}
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("whoami: %d %s", code, body)
		}
		return out.Rights, out.Role, out.Extension
	}
	admin, _ := panelLogin(t, n, "admin", "admin")
	if rights, role, _ := me(admin); role != "admin" || !slices.Contains(rights, "cdr.read") || !slices.Contains(rights, "calls.listen") {
		t.Errorf("admin: %s %v", role, rights)
	}
	user, _ := panelLogin(t, n, "12", "demo")
	rights, role, ext := me(user)
	if role != "user" || ext != "12" || slices.Contains(rights, "cdr.read") || !slices.Contains(rights, "calls.control") {
		t.Errorf("user 12: %s %s %v", role, ext, rights)
	}
	// What the panel hides, the API refuses.
	if code, _ := panelDo(t, n, "GET", "/api/v1/cdrs", "", map[string]string{"Authorization": "Session " + user}, nil); code != http.StatusForbidden {
		t.Errorf("user 12 GET /cdrs: %d, want 403", code)
	}
	if code, _ := panelDo(t, n, "GET", "/api/v1/sessions/current", "", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("whoami without credentials: %d", code)
	}
}

// TestSessionCookieCSRF: the session cookie is ambient, so a
// state-changing request a page of another origin makes with it is
// refused; the panel's way (the session in the Authorization header,
// which no other origin can set) and origin-less clients work; the event
// WebSocket, which authenticates by the cookie, refuses other origins.
func TestSessionCookieCSRF(t *testing.T) {
	n := startDemo(t)
	sid, cookie := panelLogin(t, n, "admin", "admin")
	self := "http://" + n.HTTPAddr().String()
	// An empty body: accepted requests get 400 from the handler, refused
	// ones 403 before it.
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		cookie bool
		status int
	}{
		{"cookie from another origin", map[string]string{"Origin": "http://evil.example"}, true, http.StatusForbidden},
		{"cookie from another port of this host", map[string]string{"Origin": "http://" + strings.Split(n.HTTPAddr().String(), ":")[0] + ":1"}, true, http.StatusForbidden},
		{"cookie from the panel's origin", map[string]string{"Origin": self}, true, http.StatusBadRequest},
		{"cookie without Origin (not a browser)", nil, true, http.StatusBadRequest},
		{"header from another origin", map[string]string{"Origin": "http://evil.example", "Authorization": "Session " + sid}, false, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *http.Cookie
			if tc.cookie {
				c = cookie
			}
			code, body := panelDo(t, n, "POST", "/api/v1/calls", "", tc.hdr, c)
			if code != tc.status {
				t.Fatalf("%d %s, want %d", code, body, tc.status)
			}
			if code == http.StatusForbidden && !strings.Contains(body, "cross_origin") {
				t.Fatalf("403 for another reason: %s", body)
			}
		})
	}
	// GETs are not state-changing: the cookie reads from anywhere a
	// browser lets a page read (same origin only, without CORS).
	if code, _ := panelDo(t, n, "GET", "/api/v1/extensions", "", map[string]string{"Origin": "http://evil.example"}, cookie); code != 200 {
		t.Errorf("GET with cookie: %d", code)
	}

	dial := func(origin string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h := http.Header{"Origin": {origin}, "Cookie": {cookie.Name + "=" + cookie.Value}}
		c, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr().String()+"/api/v1/events", &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			c.CloseNow()
		}
		return err
	}
	if err := dial(self); err != nil {
		t.Errorf("events from the panel's origin: %v", err)
	}
	if err := dial("http://evil.example"); err == nil {
		t.Error("events WebSocket accepted another origin's page with the cookie")
	}
}
