package panel

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestServing drives the handler with a real HTTP client: the page and
// every asset it names come with their content type, the CSP and the
// cache policy; the API base reaches the page; nothing else is served.
func TestServing(t *testing.T) {
	h, err := New("/pbx/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Compose(http.NotFoundHandler(), h))
	defer srv.Close()

	res, page := get(t, srv, "GET", "/", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for k, want := range map[string]string{"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("GET / %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(page, `<meta name="sb-api" content="/pbx/api/v1">`) {
		t.Errorf("page does not carry the API base:\n%s", page)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
		t.Error("page has inline script or style, which the CSP forbids")
	}
	if res, _ := get(t, srv, "GET", "/", map[string]string{"If-None-Match": res.Header.Get("ETag")}); res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", res.StatusCode)
	}

	// Every asset the page names, and every module those import.
	seen := map[string]bool{}
	queue := regexp.MustCompile(`(?:src|href)="(/panel/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(queue) != 3 {
		t.Fatalf("page names %d assets, want the icon, the stylesheet and app.js", len(queue))
	}
	imports := regexp.MustCompile(`from '\./([a-z]+\.js)'`)
	for len(queue) > 0 {
		p := queue[0][1]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		res, body := get(t, srv, "GET", p, nil)
		want := contentTypes[p[strings.LastIndex(p, "."):]]
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != want {
			t.Fatalf("GET %s: %d %q", p, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s Cache-Control %q", p, cc)
		}
		if res.Header.Get("Content-Security-Policy") != CSP {
			t.Errorf("GET %s without the CSP", p)
		}
		if strings.Contains(body, "innerHTML") || strings.Contains(body, "eval(") {
			t.Errorf("%s parses strings as code or markup", p)
		}
		for _, m := range imports.FindAllStringSubmatch(body, -1) {
			queue = append(queue, []string{"", Prefix + h.Version() + "/" + m[1]})
		}
	}
	if len(seen) < 7 {
		t.Errorf("walked %d assets, want every module: %v", len(seen), seen)
	}

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/panel/" + h.Version() + "/index.html", 404}, // only rendered, at /
		{"GET", "/panel/" + h.Version() + "/nope.js", 404},
		{"GET", "/panel/" + h.Version() + "/../panel.go", 404},
		{"GET", "/panel/", 404},
		{"GET", "/other", 404}, // the API mux's
		{"POST", "/panel/" + h.Version() + "/app.js", 405},
		{"HEAD", "/", 200},
	} {
		if res, _ := get(t, srv, tc.method, tc.path, nil); res.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
		}
	}
	// An older page's asset URL is served, but not cached under it.
	if res, _ := get(t, srv, "GET", "/panel/000000000000/app.js", nil); res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("old version: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

// TestCompose: WebSocket handshakes and other methods at "/" go to the
// API mux, plain GETs to the panel.
func TestCompose(t *testing.T) {
	h, err := New("/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(Compose(next, h))
	defer srv.Close()
	for _, tc := range []struct {
		name, method string
		hdr          map[string]string
		status       int
	}{
		{"plain GET", "GET", nil, 200},
		{"upgrade", "GET", map[string]string{"Upgrade": "websocket", "Connection": "keep-alive, Upgrade"}, http.StatusTeapot},
		{"POST", "POST", nil, http.StatusTeapot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res, _ := get(t, srv, tc.method, "/", tc.hdr); res.StatusCode != tc.status {
				t.Fatalf("%d, want %d", res.StatusCode, tc.status)
			}
		})
	}
}
