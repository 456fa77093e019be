package sipengine

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// replacesRef is the dialog a Refer-To's Replaces parameter names (RFC
// 3891), with the tags as the REFER's sender wrote them: to-tag is the tag
// of the side that would receive the INVITE with Replaces (switchboard,
// in a dialog with the sender), from-tag the sender's own.
type replacesRef struct {
	callID, toTag, fromTag string
}

// referReplaces reads an attended transfer's Refer-To, such as
// <sip:1003@pbx?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>.
func referReplaces(v string) (replacesRef, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return replacesRef{}, false
		}
		v = v[i+1 : i+j]
	}
	_, query, ok := strings.Cut(v, "?")
	if !ok {
		return replacesRef{}, false
	}
	for _, kv := range strings.Split(query, "&") {
		k, val, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(k, "Replaces") {
			continue
		}
		dec, err := url.QueryUnescape(val)
		if err != nil {
			return replacesRef{}, false
		}
		parts := strings.Split(dec, ";")
		r := replacesRef{callID: strings.TrimSpace(parts[0])}
		for _, p := range parts[1:] {
			pk, pv, _ := strings.Cut(strings.TrimSpace(p), "=")
			switch strings.ToLower(pk) {
			case "to-tag":
				r.toTag = pv
			case "from-tag":
				r.fromTag = pv
			}
		}
		if r.callID == "" || r.toTag == "" || r.fromTag == "" {
			return replacesRef{}, false
		}
		return r, true
	}
	return replacesRef{}, false
}

// dialogTags are (ours, theirs) of a leg's dialog.
func (e *Engine) dialogTags(l *leg) (local, remote string, ok bool) {
	e.mu.Lock()
	srv, cli := l.srv, l.cli
	e.mu.Unlock()
	switch {
	case cli != nil && cli.InviteResponse != nil: // we called: From is ours
		ft, _ := cli.InviteRequest.From().Params.Get("tag")
		tt, _ := cli.InviteResponse.To().Params.Get("tag")
		return ft, tt, ft != "" && tt != ""
	case srv != nil && srv.InviteResponse != nil: // they called: To is ours
		tt, _ := srv.InviteResponse.To().Params.Get("tag")
		ft, _ := srv.InviteRequest.From().Params.Get("tag")
		return tt, ft, ft != "" && tt != ""
	}
	return "", "", false
}

// attendedRefer handles a REFER whose Refer-To carries Replaces: the phone
// on l talks (on hold) to keep in this call and has a second, consulting
// call whose dialog Replaces names; it wants keep connected to the party
// of that second call. switchboard anchors both calls, so it sends that
// party an INVITE with Replaces for its own dialog with it (RFC 3891): the
// party's phone swaps the dialogs without ringing and hangs the consulting
// one up, which ends the second call; this call goes on between keep and
// that party, and the transferor is told (NOTIFY) and released.
func (e *Engine) attendedRefer(req *sip.Request, tx sip.ServerTransaction, l *leg, rr replacesRef) {
	c := l.call
	other := e.dialog(rr.callID)
	if other == nil || other == l || other.call == c {
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Replaced Dialog Not Found")
		return
	}
	// The consulting dialog must be the transferor's own: same tenant and
	// extension, and the tags it quoted must be that dialog's.
	local, remote, ok := e.dialogTags(other)
	if !ok || local != rr.toTag || remote != rr.fromTag || other.call.t != c.t || other.ch.Exten == "" || other.ch.Exten != l.ch.Exten {
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Replaced Dialog Not Found")
		return
	}
	oc := other.call
	e.mu.Lock()
	keep := c.a
	if keep == l {
		keep = c.b
	}
	party := oc.a
	if party == other {
		party = oc.b
	}
	answered := c.a != nil && c.b != nil && !c.inSetup && oc.a != nil && oc.b != nil && !oc.inSetup
	e.mu.Unlock()
	if !answered || keep == nil || party == nil {
		e.reply(tx, req, sip.StatusForbidden, "Only answered calls can be transferred")
		return
	}
	if party.ch.Exten == "" || party.ch.IsTrunk {
		e.reply(tx, req, sip.StatusNotImplemented, "Attended transfer to a trunk party is not supported")
		return
	}
	pLocal, pRemote, ok := e.dialogTags(party)
	if !ok {
		e.reply(tx, req, sip.StatusForbidden, "Consulted party not answered")
		return
	}
	// Our INVITE replaces our dialog with the party: to-tag is its tag,
	// from-tag ours (RFC 3891 §6.1, seen from the sender).
	replaces := party.sipCallID + ";to-tag=" + pRemote + ";from-tag=" + pLocal
	if _, status, _ := e.route(c.t, party.ch.Exten); status != "" {
		e.reply(tx, req, sip.StatusNotFound, "Transfer Target Not Found")
		return
	}
	e.reply(tx, req, 202, "Accepted")
	n := &referNotifier{e: e, l: l, req: req}
	l.transferring.Store(true)
	n.send(100, false)
	if err := e.redirect(context.Background(), c.t.Name, keep.ch.UniqueID, party.ch.Exten, l, n, replaces); err != nil {
		l.transferring.Store(false)
		if !errors.Is(err, pbx.ErrNotFound) {
			e.log.Warn("attended transfer failed", "call_id", c.id, "consult_call", oc.id, "err", err)
		}
		n.send(sip.StatusServiceUnavailable, true)
		return
	}
	e.log.Info("attended transfer", "call_id", c.id, "consult_call", oc.id, "to", party.ch.Exten)
}
