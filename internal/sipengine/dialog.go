package sipengine

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// dialogPeer is what identifies a leg's remote party for in-dialog
// requests (RFC 3261 12.2.2 plus the transport): Call-IDs appear in CDRs,
// events and PCAPs, so a Call-ID alone must never be enough to end,
// transfer, tap or redirect a call. Fields are guarded by Engine.mu.
type dialogPeer struct {
	localTag, remoteTag string
	transport           string           // lower case
	sources             []netip.AddrPort // where its requests may come from
}

// addSource allows requests from s (host:port); non-IP hosts are ignored.
func (d *dialogPeer) addSource(s string) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		d.sources = append(d.sources, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
}

// addContact allows requests from a Contact's host:port (its remote
// target), when that is an IP address.
func (d *dialogPeer) addContact(c *sip.ContactHeader) {
	if c == nil {
		return
	}
	port := c.Address.Port
	if port == 0 {
		port = 5060
	}
	if ip, err := netip.ParseAddr(c.Address.Host); err == nil {
		d.sources = append(d.sources, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	}
}

// matches reports whether req belongs to this dialog: both tags, the
// transport and a known source address.
func (d *dialogPeer) matches(req *sip.Request) bool {
	if d.remoteTag == "" || d.localTag == "" {
		return false // not confirmed yet
	}
	from, to := req.From(), req.To()
	if from == nil || to == nil {
		return false
	}
	ft, _ := from.Params.Get("tag")
	tt, _ := to.Params.Get("tag")
	if ft != d.remoteTag || tt != d.localTag {
		return false
	}
	if !strings.EqualFold(req.Transport(), d.transport) {
		return false
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return false
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	for _, s := range d.sources {
		if s == src {
			return true
		}
	}
	return false
}

// dialogFor finds the leg an in-dialog request belongs to, with its
// sessions read under the engine lock (the call's goroutine sets them);
// nil when nothing matches, which callers answer with 481.
func (e *Engine) dialogFor(req *sip.Request) (*leg, *sipgo.DialogServerSession, *sipgo.DialogClientSession) {
	if req.CallID() == nil {
		return nil, nil, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.dialogs[req.CallID().Value()]
	if l == nil {
		return nil, nil, nil
	}
	if !l.peer.matches(req) {
		e.log.Debug("in-dialog request does not match its dialog", "method", string(req.Method), "sip_call_id", req.CallID().Value(),
			"source", req.Source(), "transport", req.Transport())
		return nil, nil, nil
	}
	return l, l.srv, l.cli
}

// dialog finds a leg by its SIP Call-ID for switchboard's own use (a
// dialog named in a Replaces header, whose tags the caller then checks).
// Requests from the wire go through dialogFor, which also checks tags,
// transport and source.
func (e *Engine) dialog(callID string) *leg {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dialogs[callID]
}

// dialogSessions reads a leg's sessions under the engine lock; they are
// set by the call's goroutine while requests arrive on others.
func (e *Engine) dialogSessions(callID string) (*leg, *sipgo.DialogServerSession, *sipgo.DialogClientSession) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.dialogs[callID]
	if l == nil {
		return nil, nil, nil
	}
	return l, l.srv, l.cli
}
