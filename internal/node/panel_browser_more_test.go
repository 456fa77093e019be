package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserLogin logs in on the panel's login form (already shown) as admin.
func browserLogin(t *testing.T, ctx context.Context) {
	t.Helper()
	step(t, ctx, "login",
		chromedp.WaitVisible(`#login-user`, chromedp.ByQuery),
		chromedp.SendKeys(`#login-user`, "admin", chromedp.ByQuery),
		chromedp.SendKeys(`#login-password`, "admin", chromedp.ByQuery),
		chromedp.Click(`#login-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn-state[data-state="live"]`, chromedp.ByQuery),
	)
}

// TestPanelBrowserAdminLink: a VoIPmonitor GUI link,
// admin.php?cdr_filter={fcaller:'2001'} in the spec's object syntax, opened
// in the browser lands (after the panel's login) in the CDR browser
// showing exactly the calls of 2001: a real SIP call from phone 2001 is
// listed, a call between two bots is not.
func TestPanelBrowserAdminLink(t *testing.T) {
	ctx, problems := browser(t)
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String() + "/"

	p := phone(t, n, "2001")
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res, err := p.Call(cctx, "2001", "42", time.Second); err != nil || !res.Answered {
		t.Fatalf("call from 2001: %+v %v", res, err)
	}
	var other struct {
		ID string `json:"id"`
	}
	if code := apiJSON(t, n, "POST", "/api/v1/calls", `{"from":"42","to":"43"}`, &other); code != http.StatusCreated {
		t.Fatalf("originate: %d", code)
	}
	time.Sleep(time.Second)
	if code := apiJSON(t, n, "DELETE", "/api/v1/calls/"+other.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("hang up: %d", code)
	}
	want := stableTotal(t, n, "?number=2001", 1)
	stableTotal(t, n, "?number=42", 2)

	var href, number string
	step(t, ctx, "open the link",
		chromedp.Navigate(base+`admin.php?cdr_filter={fcaller:'2001'}`),
		chromedp.WaitVisible(`#login-user`, chromedp.ByQuery),
		chromedp.Location(&href),
	)
	if !strings.HasSuffix(href, "/#/cdrs?number=2001") {
		t.Errorf("the link opened %s, want the panel's #/cdrs?number=2001", href)
	}
	browserLogin(t, ctx)
	var rows []struct{ UniqueID, Src, Dst string }
	step(t, ctx, "filtered list",
		chromedp.WaitVisible(`#cdr-table tbody tr`, chromedp.ByQuery),
		chromedp.Value(`#f-number`, &number, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#cdr-table tbody tr')].map((tr) => ({
			uniqueid: tr.dataset.uniqueid, src: tr.cells[2].textContent, dst: tr.cells[3].textContent }))`, &rows),
	)
	screenshot(t, ctx, "admin-link")
	if number != "2001" {
		t.Errorf("the number filter shows %q, want 2001", number)
	}
	if len(rows) != want {
		t.Errorf("%d rows, want the %d CDRs of 2001: %+v", len(rows), want, rows)
	}
	for _, r := range rows {
		if r.Src != "2001" && r.Dst != "2001" || r.UniqueID == other.ID {
			t.Errorf("row %+v does not match fcaller 2001", r)
		}
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
