package sipengine

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestSendMessage: a MESSAGE goes to the named trunk over its transport
// (here TCP, to a sipgo user agent) with the text as a text/plain body and
// the sender as From; the final response comes back as the code; unknown
// tenants and trunks and oversized bodies are refused before anything is
// sent.
func TestSendMessage(t *testing.T) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("carrier"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *sip.Request, 4)
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		got <- req
		code, reason := 202, "Accepted"
		if req.Recipient.User == "600100404" {
			code, reason = 404, "Not Found"
		}
		tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTCP(ln)
	t.Cleanup(func() { ln.Close(); srv.Close(); ua.Close() })
	eng, _ := newTenantsRig(t, []Tenant{{Name: "a", Domain: "a.local", Extensions: exts("a.local", "100"),
		Trunks: []Trunk{{Name: "gsm", Address: ln.Addr().String(), Transport: "tcp", CallerID: "48221234567"}}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	code, reason, err := eng.SendMessage(ctx, "a", "gsm", "Acme Sp. z o.o.", "48600100200", "Zażółć gęślą jaźń")
	if err != nil || code != 202 || reason != "Accepted" {
		t.Fatalf("send: %d %q %v", code, reason, err)
	}
	req := <-got
	if req.Method != sip.MESSAGE || req.Recipient.User != "48600100200" || string(req.Body()) != "Zażółć gęślą jaźń" ||
		!strings.HasPrefix(req.ContentType().Value(), "text/plain") || req.From().Address.User != "48221234567" ||
		req.From().DisplayName != "Acme Sp. z o.o." || req.Transport() != "TCP" {
		t.Fatalf("carrier got %s", req.String())
	}
	if code, _, err := eng.SendMessage(ctx, "a", "gsm", "48221234000", "600100404", "x"); err != nil || code != 404 {
		t.Fatalf("404: %d %v", code, err)
	}
	if r := <-got; r.From().Address.User != "48221234000" {
		t.Fatalf("numeric sender: %s", r.From().Value())
	}
	for _, tc := range []struct {
		tenant, trunk, body string
		want                error
	}{
		{"zz", "gsm", "x", pbx.ErrUnknownTenant},
		{"a", "nope", "x", pbx.ErrNotFound},
		{"a", "gsm", strings.Repeat("x", maxMessageBody+1), pbx.ErrInvalidArgument},
	} {
		if _, _, err := eng.SendMessage(ctx, tc.tenant, tc.trunk, "x", "600100200", tc.body); !errors.Is(err, tc.want) {
			t.Errorf("%s/%s: %v, want %v", tc.tenant, tc.trunk, err, tc.want)
		}
	}
	select {
	case r := <-got:
		t.Fatalf("a refused message was sent: %s", r.String())
	default:
	}
}
