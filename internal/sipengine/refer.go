package sipengine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// handleRefer is a blind transfer asked by a phone (RFC 3515): the phone
// that sends REFER leaves, its partner is connected to the Refer-To target.
// The NOTIFY that ends the implicit subscription is sent before switchboard
// hangs the referrer up, so the phone sees the transfer accepted first.
func (e *Engine) handleRefer(req *sip.Request, tx sip.ServerTransaction) {
	l, srv, cli := e.dialogSessions(req.CallID().Value())
	if l == nil || (srv == nil && cli == nil) {
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := l.call
	c.record(l, false, req)
	dest, ok := referTarget(headerValue(req, "Refer-To"))
	if !ok {
		e.reply(tx, req, sip.StatusBadRequest, "Bad Refer-To (attended transfer is not supported yet)")
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
	if _, status, _ := e.route(c.t, dest); status != "" {
		e.reply(tx, req, sip.StatusNotFound, "Transfer Target Not Found")
		return
	}
	e.reply(tx, req, 202, "Accepted")

	target := sip.Uri{Scheme: "sip", Host: sourceIP(req.Source())}
	if ct := req.Contact(); ct != nil {
		target = ct.Address
	}
	notify := sip.NewRequest(sip.NOTIFY, target)
	notify.SetDestination(req.Source())
	notify.SetTransport(req.Transport())
	notify.AppendHeader(e.legContact(l))
	notify.AppendHeader(sip.NewHeader("Event", "refer"))
	notify.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	notify.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	notify.SetBody([]byte("SIP/2.0 200 OK\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var err error
	if srv != nil {
		_, err = srv.Do(ctx, notify)
	} else {
		_, err = cli.Do(ctx, notify)
	}
	if err != nil {
		e.log.Debug("refer notify", "call", c.id, "err", err)
	}
	if err := e.Redirect(ctx, c.t.Name, partner.ch.UniqueID, dest); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		e.log.Warn("refer transfer failed", "call", c.id, "to", dest, "err", err)
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
