package sipengine

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// contactFor is switchboard's Contact for a dialog running over transport
// (as sipgo names it: UDP, TCP, TLS). The Contact is the remote target of
// every later request of the dialog (ACK, BYE, re-INVITE, NOTIFY), so it
// must name the transport the phone used: a phone that registered over
// TCP only cannot send its ACK or BYE over UDP, and a plain
// sip:host:port Contact means UDP (RFC 3261 §18.1.1, §19.1.4). secure is
// set when the dialog was set up with a sips: URI; its Contact must then
// be sips as well (RFC 3261 §12.1.1).
func (e *Engine) contactFor(transport string, secure bool) *sip.ContactHeader {
	u := sip.Uri{Scheme: "sip", User: "switchboard", Host: e.cfg.AdvertiseIP.String(), Port: int(e.addr.Port())}
	switch strings.ToUpper(transport) {
	case "TCP":
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	case "TLS":
		if tls := e.TLSAddr(); tls.IsValid() {
			u.Port = int(tls.Port())
		}
		if secure {
			u.Scheme = "sips"
		} else {
			u.UriParams = sip.NewParams()
			u.UriParams.Add("transport", "tls")
		}
	}
	return &sip.ContactHeader{Address: u}
}

// legContact is the Contact for l's dialog, from the transport its INVITE
// travelled over (the phone's INVITE for a leg that called us, ours for a
// leg we called).
func (e *Engine) legContact(l *leg) *sip.ContactHeader {
	var req *sip.Request
	e.mu.Lock()
	if l.srv != nil {
		req = l.srv.InviteRequest
	} else if l.cli != nil {
		req = l.cli.InviteRequest
	}
	e.mu.Unlock()
	if req == nil {
		return e.contactFor("UDP", false)
	}
	return e.contactFor(req.Transport(), req.Recipient.IsEncrypted())
}

// dialTransport is the transport for a new outgoing INVITE in sipgo's
// spelling (upper case, which is also what goes into the Via: RFC 3261
// §20.42 writes it upper case and strict parsers compare it so).
func dialTransport(t string) string {
	if t == "" {
		return "UDP"
	}
	return sip.NetworkToUpper(strings.ToLower(t))
}
