package sipengine

import (
	"crypto/subtle"
	"net/netip"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Inbound trust model for trunks.
//
// A request is "from a trunk" when its source IP and port equal a trunk's
// configured Address; such INVITEs skip digest authentication, as carriers
// (like Asterisk host= peers) do not answer challenges. Over UDP a source
// address can be spoofed, so a trunk call is given only what the tenant
// exposes to the outside world:
//
//   - the numbers in Trunk.DIDs, or, when that list is empty, the tenant's
//     extensions, queues and conferences;
//   - never feature codes (they need an extension's identity);
//   - never another trunk (transit, the classic toll fraud), unless the
//     operator sets Trunk.AllowTransit.
//
// A trunk with InboundSecretHeader set additionally requires that header to
// carry InboundSecret (compared in constant time), so that spoofing the
// address alone is not enough; use it with carriers that can add a custom
// header, and over TCP/TLS where possible.
//
// Several tenants may share a carrier address: the tenant is then the one
// whose domain is the Request-URI host, else the one owning the dialled
// number; if that is still ambiguous the call is refused (404), never
// given to a tenant at random.

// inboundTrunk picks the trunk, and so the tenant, of a request from a
// carrier. matched reports whether the source is a trunk address at all;
// code is the refusal (403, 404) when it is but no single trunk fits.
func (e *Engine) inboundTrunk(req *sip.Request) (t *tenant, tr *Trunk, matched bool, code int) {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return nil, nil, false, 0
	}
	type cand struct {
		t  *tenant
		tr *Trunk
	}
	var cands []cand
	for _, tn := range e.tenantList {
		for _, x := range tn.trunks {
			if ap, err := netip.ParseAddrPort(x.Address); err == nil && ap.Addr().Unmap() == src.Addr().Unmap() && ap.Port() == src.Port() {
				cands = append(cands, cand{tn, x})
			}
		}
	}
	if len(cands) == 0 {
		return nil, nil, false, 0
	}
	// A trunk that demands a secret only takes requests carrying it.
	cands = slices.DeleteFunc(cands, func(c cand) bool { return !trunkSecretOK(c.tr, req) })
	if len(cands) == 0 {
		return nil, nil, true, sip.StatusForbidden
	}
	single := func(cs []cand) bool {
		if len(cs) == 0 {
			return false
		}
		for _, c := range cs[1:] {
			if c.t != cs[0].t {
				return false
			}
		}
		return true
	}
	if single(cands) {
		return cands[0].t, cands[0].tr, true, 0
	}
	host := strings.ToLower(req.Recipient.Host)
	byDomain := slices.DeleteFunc(slices.Clone(cands), func(c cand) bool { return strings.ToLower(c.t.Domain) != host })
	if single(byDomain) {
		return byDomain[0].t, byDomain[0].tr, true, 0
	}
	number := req.Recipient.User
	byNumber := slices.DeleteFunc(cands, func(c cand) bool { return !e.trunkExposes(c.t, c.tr, number) })
	if single(byNumber) {
		return byNumber[0].t, byNumber[0].tr, true, 0
	}
	return nil, nil, true, sip.StatusNotFound
}

// trunkSecretOK checks a trunk's optional shared-secret header.
func trunkSecretOK(tr *Trunk, req *sip.Request) bool {
	if tr.InboundSecretHeader == "" {
		return true
	}
	got := headerValue(req, tr.InboundSecretHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(tr.InboundSecret)) == 1
}

// trunkExposes reports whether a tenant exposes number to callers on trunk
// tr: one of the trunk's DIDs or, without DIDs, an extension, queue or
// conference of the tenant.
func (e *Engine) trunkExposes(t *tenant, tr *Trunk, number string) bool {
	if len(tr.DIDs) > 0 {
		return slices.Contains(tr.DIDs, number)
	}
	return e.internalNumber(t, number)
}

// internalNumber reports whether number is an extension, conference or
// queue of t.
func (e *Engine) internalNumber(t *tenant, number string) bool {
	if t.exts[number] != nil {
		return true
	}
	if _, ok := t.rooms[number]; ok {
		return true
	}
	_, ok := e.core.QueueByNumber(t.Name, number)
	return ok
}

// trunkMayReach is the policy for a call arriving on trunk tr to number:
// 0 when allowed, else the SIP code to refuse it with (404 for numbers the
// tenant does not expose, 403 for transit). A DID that is not internal
// routes out a trunk and is therefore transit too.
func (e *Engine) trunkMayReach(t *tenant, tr *Trunk, number string) int {
	if len(tr.DIDs) > 0 && !slices.Contains(tr.DIDs, number) {
		return sip.StatusNotFound
	}
	if e.internalNumber(t, number) {
		return 0
	}
	if tg, status, _ := e.route(t, number); status == "" && tg.trunk != nil {
		if tr.AllowTransit {
			return 0
		}
		return sip.StatusForbidden
	}
	return sip.StatusNotFound
}

// routeFrom is route with the caller's rights: a call whose caller is on
// trunk from (nil for phones) may go out a trunk only if from allows
// transit. Dialled calls and REFERs both use it, so a transfer never grants
// more than dialling would; per-extension toll rules belong here too.
func (e *Engine) routeFrom(t *tenant, from *Trunk, number string) (target, pbx.EndStatus, int) {
	tg, status, code := e.route(t, number)
	if status == "" && tg.trunk != nil && from != nil && !from.AllowTransit {
		return target{}, pbx.EndCongestion, sip.StatusForbidden
	}
	return tg, status, code
}
