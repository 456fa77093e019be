package sipengine

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// newTenantsRig starts an engine with the given tenants (the core gets the
// same extensions) and returns it with its CDR store.
func newTenantsRig(t *testing.T, tenants []Tenant, engOpts ...func(*Config)) (*Engine, *memCDRs) {
	t.Helper()
	var dir pbx.Directory
	for _, tn := range tenants {
		te := pbx.TenantEntry{Name: tn.Name, Domain: tn.Domain}
		for _, x := range tn.Extensions {
			te.Extensions = append(te.Extensions, pbx.ExtensionEntry{Number: x.Number})
		}
		dir.Tenants = append(dir.Tenants, te)
	}
	cdrs := &memCDRs{}
	core, err := pbx.NewCore(dir, cdrs, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ports, _ := media.NewPortAllocator(lo, 36000, 36998, 0)
	cfg := Config{Listen: "127.0.0.1:0", Ports: ports, RingTimeout: 5 * time.Second, Logger: testLogger(), Tenants: tenants}
	for _, o := range engOpts {
		o(&cfg)
	}
	eng, err := New(core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	core.SetEngine(eng)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Close(ctx)
		core.Close()
	})
	return eng, cdrs
}

func exts(domain string, numbers ...string) []Extension {
	var out []Extension
	for _, n := range numbers {
		out = append(out, Extension{Number: n, HA1: HA1(n, domain, "pw-"+n)})
	}
	return out
}

// trunkInvite sends an INVITE from the carrier socket p and returns the
// final status (0: none within the timeout).
func trunkInvite(t *testing.T, p *wirePeer, ruser, rhost string, extra ...string) int {
	t.Helper()
	r := wireReq{method: sip.INVITE, ruser: ruser, rhost: rhost, fromUser: "0421900111222", fromHost: "carrier.example",
		fromTag: "c1", body: sdpOffer(netip.AddrPortFrom(lo, 40000)), extra: extra}
	r.callID = "trunk-" + ruser + "-" + time.Now().Format("150405.000000000")
	p.sendRaw(p.build(r))
	res := p.final(r.callID, sip.INVITE, 5*time.Second)
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// A spoofed carrier INVITE (from a socket bound to the trunk's address) to
// an outside number must not go back out the trunk; internal numbers and
// configured DIDs still work, and a trunk with a shared secret refuses
// INVITEs without it.
func TestTrunkInboundPolicy(t *testing.T) {
	carrier := newWirePeer(t, "udp", netip.AddrPort{}, "")
	didOnly := newWirePeer(t, "udp", netip.AddrPort{}, "")
	secret := newWirePeer(t, "udp", netip.AddrPort{}, "")
	transit := newWirePeer(t, "udp", netip.AddrPort{}, "")
	ten := Tenant{Name: "t", Domain: domain, Extensions: exts(domain, "100", "101", "102"), Trunks: []Trunk{
		{Name: "carrier", Address: carrier.local.String(), Transport: "udp", Prefix: "0"},
		{Name: "did", Address: didOnly.local.String(), Transport: "udp", Prefix: "9", DIDs: []string{"102"}},
		{Name: "secret", Address: secret.local.String(), Transport: "udp", Prefix: "8", InboundSecretHeader: "X-Trunk-Secret", InboundSecret: "s3cr3t"},
		{Name: "transit", Address: transit.local.String(), Transport: "udp", Prefix: "7", AllowTransit: true},
	}}
	eng, _ := newTenantsRig(t, []Tenant{ten})
	for _, p := range []*wirePeer{carrier, didOnly, secret, transit} {
		p.dst = eng.Addr()
	}
	host := eng.Addr().Addr().String()

	if got := trunkInvite(t, carrier, "0900123456", host); got != 403 {
		t.Fatalf("carrier call to an outside number: %d, want 403 (toll fraud)", got)
	}
	if got := trunkInvite(t, carrier, "101", host); got != 480 {
		t.Fatalf("carrier call to an extension: %d, want 480 (routed, not registered)", got)
	}
	if got := trunkInvite(t, carrier, "555", host); got != 404 {
		t.Fatalf("carrier call to an unknown number: %d, want 404", got)
	}
	if got := trunkInvite(t, didOnly, "101", host); got != 404 {
		t.Fatalf("DID trunk to a number not among its DIDs: %d, want 404", got)
	}
	if got := trunkInvite(t, didOnly, "102", host); got != 480 {
		t.Fatalf("DID trunk to its DID: %d, want 480", got)
	}
	if got := trunkInvite(t, secret, "101", host); got != 403 {
		t.Fatalf("secret trunk without the secret: %d, want 403", got)
	}
	if got := trunkInvite(t, secret, "101", host, "X-Trunk-Secret: wrong"); got != 403 {
		t.Fatalf("secret trunk with a wrong secret: %d, want 403", got)
	}
	if got := trunkInvite(t, secret, "101", host, "X-Trunk-Secret: s3cr3t"); got != 480 {
		t.Fatalf("secret trunk with the secret: %d, want 480", got)
	}
	// A trunk allowed transit may go out: the INVITE reaches the prefix 0
	// carrier.
	r := wireReq{method: sip.INVITE, ruser: "0900123456", rhost: host, fromUser: "0421", fromHost: "x", fromTag: "t1",
		callID: "transit-1", body: sdpOffer(netip.AddrPortFrom(lo, 40000))}
	transit.sendRaw(transit.build(r))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if req, ok := carrier.recv(time.Until(deadline)).(*sip.Request); ok && req.Method == sip.INVITE {
			carrier.sendRaw([]byte(sip.NewResponseFromRequest(req, 486, "Busy Here", nil).String()))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("transit call never reached the carrier")
		}
	}
	if res := transit.final("transit-1", sip.INVITE, 5*time.Second); res == nil || res.StatusCode != 486 {
		t.Fatalf("transit caller got %v", res)
	}
}

// Two tenants whose trunks share a carrier address: the R-URI domain or
// the owner of the dialled number picks the tenant; ambiguity is 404.
func TestTrunkTenantBySharedAddress(t *testing.T) {
	carrier := newWirePeer(t, "udp", netip.AddrPort{}, "")
	a := Tenant{Name: "a", Domain: "a.local", Extensions: exts("a.local", "201", "401"),
		Trunks: []Trunk{{Name: "pstn", Address: carrier.local.String(), Transport: "udp", Prefix: "0"}}}
	b := Tenant{Name: "b", Domain: "b.local", Extensions: exts("b.local", "301", "401"),
		Trunks: []Trunk{{Name: "pstn", Address: carrier.local.String(), Transport: "udp", Prefix: "0"}}}
	eng, cdrs := newTenantsRig(t, []Tenant{a, b})
	carrier.dst = eng.Addr()
	host := eng.Addr().Addr().String()

	n0 := len(cdrs.all())
	want := n0
	lastTenant := func() string {
		want++
		deadline := time.Now().Add(5 * time.Second)
		for len(cdrs.all()) < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		rows := cdrs.all()
		return rows[len(rows)-1].Tenant
	}
	if got := trunkInvite(t, carrier, "401", "b.local"); got != 480 {
		t.Fatalf("by domain: %d", got)
	}
	if tn := lastTenant(); tn != "b" {
		t.Fatalf("call by domain b.local went to tenant %q", tn)
	}
	if got := trunkInvite(t, carrier, "201", host); got != 480 {
		t.Fatalf("by number 201: %d", got)
	}
	if tn := lastTenant(); tn != "a" {
		t.Fatalf("201 went to tenant %q", tn)
	}
	if got := trunkInvite(t, carrier, "301", host); got != 480 {
		t.Fatalf("by number 301: %d", got)
	}
	if tn := lastTenant(); tn != "b" {
		t.Fatalf("301 went to tenant %q", tn)
	}
	n1 := len(cdrs.all())
	if got := trunkInvite(t, carrier, "401", host); got != 404 {
		t.Fatalf("number both tenants own: %d, want 404", got)
	}
	if got := trunkInvite(t, carrier, "0900123456", host); got != 404 {
		t.Fatalf("outside number over a shared address: %d, want 404", got)
	}
	if n := len(cdrs.all()); n != n1 || n1-n0 != 3 {
		t.Fatalf("refused calls left CDRs: %d -> %d -> %d", n0, n1, n)
	}
}

// Wrong passwords sent in a carrier's name (UDP sources are spoofable) do
// not block the carrier's inbound calls.
func TestTrunkAddressNotBlockedByFailedDigests(t *testing.T) {
	carrier := newWirePeer(t, "udp", netip.AddrPort{}, "")
	ten := Tenant{Name: "t", Domain: domain, Extensions: exts(domain, "100", "101"),
		Trunks: []Trunk{{Name: "carrier", Address: carrier.local.String(), Transport: "udp", Prefix: "0"}}}
	eng, _ := newTenantsRig(t, []Tenant{ten})
	carrier.dst = eng.Addr()
	chal := register(carrier, 1, "", 2*time.Second)
	if chal == nil || chal.StatusCode != 401 {
		t.Fatalf("challenge: %v", chal)
	}
	for i := 1; i <= DefaultAuthAddrFailures; i++ {
		register(carrier, 1+i, answerDigest(t, chal, "REGISTER", "sip:100@"+domain, "100", "guess", i), 2*time.Second)
	}
	if res := register(carrier, 50, "", 2*time.Second); res == nil || res.StatusCode != 401 {
		t.Fatalf("a trunk's address was blocked: %v", res)
	}
	if got := trunkInvite(t, carrier, "101", eng.Addr().Addr().String()); got != 480 {
		t.Fatalf("carrier INVITE after spoofed failures: %d, want 480", got)
	}
}
