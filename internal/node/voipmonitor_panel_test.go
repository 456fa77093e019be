package node

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/config"
)

// adminGet asks admin.php for a cdr_filter as a browser (accept
// text/html) or a script would, without following a redirect.
func adminGet(t *testing.T, base, filter, cookie, accept string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/admin.php?cdr_filter="+url.QueryEscape(filter), nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

// browserAccept is what Chromium sends for a page load.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// TestVoIPmonitorAdminPanelLink: a browser opening a VoIPmonitor
// admin.php?cdr_filter link is sent (303) to the panel's CDR view with
// the filter in the panel's terms, and that target is the panel's page;
// dates are placed in the tenant's zone (Europe/Warsaw), which needs the
// GUI session. Scripts, filters the panel cannot express exactly, a
// node without the panel and the dialect's own listener keep the HTML
// listing.
func TestVoIPmonitorAdminPanelLink(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	cookie := vmLogin(t, base)

	code, loc, _ := adminGet(t, base, `{fcaller:'2001'}`, "", browserAccept)
	if code != http.StatusSeeOther || loc != "/#/cdrs?number=2001" {
		t.Fatalf("browser link: %d %q", code, loc)
	}
	// The target is the panel's page (the fragment stays in the browser).
	req, _ := http.NewRequest("GET", base+strings.TrimSuffix(loc, "#/cdrs?number=2001"), nil)
	req.Header.Set("Accept", browserAccept)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), `<meta name="sb-api" content="/api/v1">`) {
		t.Errorf("redirect target: %d %.300s", res.StatusCode, page)
	}

	if code, loc, _ := adminGet(t, base, `{fcaller:"2001", fcalled:"42", fcallerd_type:1, fdatefrom:"2026-01-10 10:00:00", fdateto:"2026-07-01 00:00:00"}`, cookie, browserAccept); code != http.StatusSeeOther ||
		loc != "/#/cdrs?dst=42&from=2026-01-10T09%3A00%3A00Z&src=2001&to=2026-06-30T22%3A00%3A00.000001Z" {
		t.Errorf("dated link with the GUI session: %d %q", code, loc)
	}
	if code, loc, _ := adminGet(t, base, `{fcallid:"a84b4c76e66710@pc33"}`, "", browserAccept); code != http.StatusSeeOther || loc != "/#/cdrs?call_id=a84b4c76e66710%40pc33" {
		t.Errorf("Call-ID link: %d %q", code, loc)
	}
	// Without the session the dates cannot be placed: the listing's answer.
	if code, loc, _ := adminGet(t, base, `{fcaller:"2001", fdatefrom:"2026-01-10"}`, "", browserAccept); code != http.StatusUnauthorized || loc != "" {
		t.Errorf("dated link without a session: %d %q", code, loc)
	}
	for _, c := range []struct{ filter, accept string }{
		{`{fcaller:'2001'}`, ""},                 // a script: no Accept
		{`{fcaller:'2001'}`, "*/*"},              // curl
		{`{fcaller:'2001'}`, "application/json"}, // an API client
		{`{fcaller:'20%'}`, browserAccept},       // a pattern: the panel matches exactly
		{`{fcaller_domain:'x'}`, browserAccept},  // no such filter in the panel
	} {
		if code, loc, body := adminGet(t, base, c.filter, cookie, c.accept); code != 200 || loc != "" || !strings.Contains(body, " CDRs</p>") {
			t.Errorf("%s accept %q: %d %q %.200s", c.filter, c.accept, code, loc, body)
		}
	}

	// Without the native API there is no panel: browsers get the listing.
	no := false
	n2 := startDemoWith(t, Options{}, func(c *config.Config) {
		d := c.Dialects["native"]
		d.Enabled = &no
		c.Dialects["native"] = d
	})
	base2 := "http://" + n2.HTTPAddr().String()
	if code, loc, body := adminGet(t, base2, `{fcaller:'2001'}`, vmLogin(t, base2), browserAccept); code != 200 || loc != "" || !strings.Contains(body, "0 CDRs</p>") {
		t.Errorf("no panel: %d %q %.200s", code, loc, body)
	}
	// Nor on the dialect's own listener, whose "/" is no panel.
	n3 := startDemoWith(t, Options{}, func(c *config.Config) {
		d := c.Dialects["voipmonitor"]
		d.Listen = "127.0.0.1:0"
		c.Dialects["voipmonitor"] = d
	})
	own := "http://" + n3.DialectAddr("voipmonitor").String()
	if code, loc, body := adminGet(t, own, `{fcaller:'2001'}`, vmLogin(t, own), browserAccept); code != 200 || loc != "" || !strings.Contains(body, "0 CDRs</p>") {
		t.Errorf("own listener: %d %q %.200s", code, loc, body)
	}
}
