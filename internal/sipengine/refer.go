package sipengine

import (
	"context"
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// handleRefer is a blind transfer asked by a phone (RFC 3515): the phone
// that sends REFER leaves, its partner is connected to the Refer-To target.
// The transferor gets NOTIFY 100 Trying at once and the final NOTIFY (the
// target's answer or failure) when it is known; its BYE, whenever it
// comes, ends only its own leg.
func (e *Engine) handleRefer(req *sip.Request, tx sip.ServerTransaction) {
	l, srv, cli := e.dialogFor(req)
	if l == nil || (srv == nil && cli == nil) {
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := l.call
	dest, ok := referTarget(headerValue(req, "Refer-To"))
	if !ok {
		if rr, ok := referReplaces(headerValue(req, "Refer-To")); ok {
			e.attendedRefer(req, tx, l, rr)
			return
		}
		e.reply(tx, req, sip.StatusBadRequest, "Bad Refer-To")
		return
	}
	e.mu.Lock()
	partner := c.a
	if partner == l {
		partner = c.b
	}
	answered := c.a != nil && c.b != nil && !c.inSetup
	e.mu.Unlock()
	if !answered || partner == nil {
		e.reply(tx, req, sip.StatusForbidden, "Only answered calls can be transferred")
		return
	}
	// The transferor's own rights apply: a phone may send its partner
	// wherever it could dial itself; a carrier may never send a call back
	// out a trunk (that would be transit paid by the tenant).
	if _, status, code := e.routeFrom(c.t, l.trunk, dest); code == sip.StatusForbidden {
		e.warnLog.Warn("refer refused: transit", "call_id", c.id, "to", dest)
		e.reply(tx, req, sip.StatusForbidden, "Transfer Not Allowed")
		return
	} else if status != "" {
		e.reply(tx, req, sip.StatusNotFound, "Transfer Target Not Found")
		return
	}
	e.reply(tx, req, 202, "Accepted")

	// From here a BYE of the transferor ends only its own leg, however
	// soon it comes; the transfer runs on the call's goroutine, which tells
	// the transferor the outcome (final NOTIFY) once the target answered or
	// failed, and only then lets it go.
	n := &referNotifier{e: e, l: l, req: req}
	l.transferring.Store(true)
	n.send(100, false)
	if err := e.redirect(context.Background(), c.t.Name, partner.ch.UniqueID, dest, l, n, ""); err != nil {
		l.transferring.Store(false)
		if !errors.Is(err, pbx.ErrNotFound) {
			e.log.Warn("refer transfer failed", "call_id", c.id, "to", dest, "err", err)
		}
		n.send(sip.StatusServiceUnavailable, true)
	}
}

// referTarget takes the dialled number from a Refer-To value such as
// `<sip:1002@pbx.example>`. Refer-To with a Replaces parameter (attended
// transfer) is not handled yet.
func referTarget(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", false
		}
		v = v[i+1 : i+j]
	}
	if strings.Contains(strings.ToLower(v), "replaces") {
		return "", false
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil || u.User == "" {
		return "", false
	}
	if !pbx.ValidNumber(u.User) {
		return "", false
	}
	return u.User, true
}
