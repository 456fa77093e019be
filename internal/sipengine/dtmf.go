package sipengine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// dtmfDuration is how long each played digit lasts; 100 ms is what IVRs
// and carriers reliably detect.
const dtmfDuration = 100 * time.Millisecond

var _ pbx.DTMFPlayer = (*Engine)(nil)

// watchDTMF reports RFC 4733 digits arriving on a leg as core events.
func (e *Engine) watchDTMF(l *leg) {
	l.rtp.OnDTMF(func(d rune, _ time.Duration) { e.core.DTMFReceived(l.ch, d, "rfc4733") })
}

// handleInfo takes SIP INFO digits (application/dtmf-relay, as Cisco and
// most desk phones send them, or application/dtmf).
func (e *Engine) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	l, _, _ := e.dialogFor(req)
	if l == nil {
		e.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	ct := strings.ToLower(headerValue(req, "Content-Type"))
	d, ok := parseInfoDigit(ct, req.Body())
	if !ok {
		e.reply(tx, req, sip.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	e.reply(tx, req, sip.StatusOK, "OK")
	e.core.DTMFReceived(l.ch, d, "info")
}

// parseInfoDigit reads the digit of an INFO body.
func parseInfoDigit(contentType string, body []byte) (rune, bool) {
	var sig string
	switch {
	case strings.HasPrefix(contentType, "application/dtmf-relay"):
		for _, line := range strings.Split(string(body), "\n") {
			k, v, found := strings.Cut(line, "=")
			if found && strings.EqualFold(strings.TrimSpace(k), "signal") {
				sig = strings.TrimSpace(v)
			}
		}
	case strings.HasPrefix(contentType, "application/dtmf"):
		sig = strings.TrimSpace(string(body))
	default:
		return 0, false
	}
	if n, err := strconv.Atoi(sig); err == nil && n >= 10 && n <= 15 {
		return rune("*#ABCD"[n-10]), true // RFC 4733 event numbers
	}
	if len(sig) == 1 && strings.ContainsRune("0123456789*#ABCDabcd", rune(sig[0])) {
		return rune(strings.ToUpper(sig)[0]), true
	}
	return 0, false
}

// PlayDTMF implements pbx.DTMFPlayer: the digits go to the party of the
// channel as RFC 4733 events, and the call returns once they are sent.
func (e *Engine) PlayDTMF(ctx context.Context, tenant, uniqueID, digits string) error {
	e.mu.Lock()
	var target *leg
	for _, c := range e.calls {
		if c.t.Name != tenant {
			continue
		}
		for _, l := range []*leg{c.a, c.b} {
			if l != nil && l.ch.UniqueID == uniqueID && l.rtp != nil {
				target = l
			}
		}
	}
	e.mu.Unlock()
	if target == nil {
		return fmt.Errorf("play dtmf to %s: %w", uniqueID, pbx.ErrNotFound)
	}
	if err := target.rtp.SendDTMF(ctx, digits, dtmfDuration); err != nil {
		return fmt.Errorf("play dtmf to %s: %w", uniqueID, err)
	}
	return nil
}
