package dialect

import (
	"net/netip"
	"testing"
)

// TestAnyTenantAllows: an address may connect when some tenant lists it;
// a tenant without a list, or no tenants, lets every address connect.
func TestAnyTenantAllows(t *testing.T) {
	pf := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	lists := map[string][]netip.Prefix{"a": pf("192.0.2.0/24"), "b": pf("198.51.100.7/32", "2001:db8::/32")}
	g := &Gate{Connectable: AnyTenantAllows(lists)}
	lists["a"] = nil // copied: a later change does not leak in
	for ip, want := range map[string]bool{
		"192.0.2.9": true, "198.51.100.7": true, "::ffff:192.0.2.9": true, "2001:db8::1": true,
		"198.51.100.8": false, "127.0.0.1": false, "::1": false,
	} {
		if got := g.MayConnect(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %v, want %v", ip, got, want)
		}
	}
	if g.MayConnect(netip.Addr{}) {
		t.Error("an unknown address passed the lists")
	}
	for _, open := range []map[string][]netip.Prefix{nil, {}, {"a": pf("192.0.2.0/24"), "b": nil}} {
		if AnyTenantAllows(open) != nil {
			t.Errorf("%v: a tenant without a list must let everyone connect", open)
		}
	}
	if !(&Gate{}).MayConnect(netip.MustParseAddr("127.0.0.1")) {
		t.Error("a gate without Connectable refused")
	}
}
