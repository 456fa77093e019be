package voipmonitor

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestShareLinkSignature: a link verifies until it expires; changing any
// of its parts, or a link signed with another key, does not.
func TestShareLinkSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := &API{shareKey: []byte("0123456789abcdef0123"), shareTTL: time.Hour, now: func() time.Time { return now }}
	r := httptest.NewRequest("GET", "http://pbx.example/php/api.php", nil)
	link := a.shareURL(r, "MojaCentrala", []pbx.CDR{{ID: 7}, {ID: 9}}, shareModeRTP, false)
	u, err := url.Parse(link)
	if err != nil || u.Host != "pbx.example" || u.Path != "/php/share.php" {
		t.Fatalf("link %s: %v", link, err)
	}
	q := u.Query()
	if err := a.verify(q); err != nil {
		t.Fatalf("fresh link: %v", err)
	}
	for _, tamper := range []struct{ k, v string }{{"t", "Other"}, {"ids", "7,9,10"}, {"ids", "8"}, {"mode", "history"}, {"mode", "sip"},
		{"exp", "1900000000"}, {"sig", q.Get("sig")[:len(q.Get("sig"))-1] + "A"}, {"sig", ""}, {"exp", "x"}} {
		bad := url.Values{}
		for k, v := range q {
			bad[k] = append([]string(nil), v...)
		}
		bad.Set(tamper.k, tamper.v)
		if err := a.verify(bad); err == nil {
			t.Errorf("tampered %s=%s verified", tamper.k, tamper.v)
		}
	}
	other := &API{shareKey: []byte("another key, 16+ chars"), shareTTL: time.Hour, now: a.now}
	if err := other.verify(q); err == nil {
		t.Error("a link of another key verified")
	}
	now = now.Add(time.Hour + time.Second)
	if err := a.verify(q); err == nil {
		t.Error("an expired link verified")
	}
}
