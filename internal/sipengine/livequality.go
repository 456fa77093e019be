package sipengine

import (
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// LiveQuality implements pbx.MediaReporter: the figures finish would
// put in the CDR, measured so far. The legs are read under e.mu, where
// setLeg publishes them (as PlayDTMF reads them); media legs' counters
// are safe to read concurrently.
func (e *Engine) LiveQuality(tenant, callID string) (pbx.Quality, error) {
	type legView struct {
		rtp        *media.Leg
		sipCallID  string
		ua, ip     string
		callerName string
		trunk      bool
	}
	view := func(l *leg) *legView {
		if l == nil {
			return nil
		}
		v := &legView{rtp: l.rtp, sipCallID: l.sipCallID, ua: l.userAgent, ip: l.ip, trunk: l.trunk != nil}
		if l.ch != nil {
			v.callerName = l.ch.CallerIDName
		}
		return v
	}
	e.mu.Lock()
	var found *call
	for _, c := range e.calls {
		if c.t.Name == tenant && c.id == callID {
			found = c
			break
		}
	}
	var a, b *legView
	if found != nil {
		a, b = view(found.a), view(found.b)
	}
	e.mu.Unlock()
	if found == nil {
		return pbx.Quality{}, fmt.Errorf("live quality %s: %w", callID, pbx.ErrNotFound)
	}
	found.mu.Lock()
	q := pbx.Quality{Codec: found.codec.Name, LastSIPResponse: found.lastCode}
	found.mu.Unlock()
	q.Detail = pbx.CallDetail{A: pbx.RTPStream{PayloadType: -1}, B: pbx.RTPStream{PayloadType: -1}}
	var sa, sb media.Stats
	if a != nil {
		q.CallID, q.SrcUserAgent, q.SrcIP = a.sipCallID, a.ua, a.ip
		q.Detail.CallerName, q.Detail.Trunk = a.callerName, a.trunk
		if a.rtp != nil {
			sa = a.rtp.Stats()
			q.Detail.A = stream(a.rtp)
		}
	}
	if b != nil {
		q.DstUserAgent, q.DstIP, q.Detail.CallIDB = b.ua, b.ip, b.sipCallID
		q.Detail.Trunk = q.Detail.Trunk || b.trunk
		if b.rtp != nil {
			sb = b.rtp.Stats()
			q.Detail.B = stream(b.rtp)
		}
	}
	q.PacketsAB, q.LossAB, q.JitterABMillis = sa.PacketsRecv, sa.LossFraction, sa.JitterMillis
	q.PacketsBA, q.LossBA, q.JitterBAMillis = sb.PacketsRecv, sb.LossFraction, sb.JitterMillis
	if sa.PacketsRecv > 0 && sb.PacketsRecv > 0 {
		q.MOS = min(sa.MOS, sb.MOS)
	}
	return q, nil
}

var _ pbx.MediaReporter = (*Engine)(nil)
