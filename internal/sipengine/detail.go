package sipengine

import (
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// detail is the call's pbx.CallDetail for its CDR: names, domains, both
// legs' Call-IDs and each RTP stream as received. It runs on the call's
// goroutine at the end (finish), when the legs no longer change; the
// dialogs' INVITEs are read under e.mu as legContact does.
func (c *call) detail() pbx.CallDetail {
	d := pbx.CallDetail{A: pbx.RTPStream{PayloadType: -1}, B: pbx.RTPStream{PayloadType: -1}}
	invite := func(l *leg) *sip.Request {
		if l == nil {
			return nil
		}
		if l.srv != nil {
			return l.srv.InviteRequest
		}
		if l.cli != nil {
			return l.cli.InviteRequest
		}
		return nil
	}
	c.e.mu.Lock()
	ra, rb := invite(c.a), invite(c.b)
	c.e.mu.Unlock()
	if ra != nil {
		if f := ra.From(); f != nil {
			d.CallerDomain = f.Address.Host
		}
		if t := ra.To(); t != nil {
			d.CalledDomain = t.Address.Host
		}
	}
	if rb != nil {
		if t := rb.To(); t != nil {
			d.CalledDomain = t.Address.Host
		}
	}
	if c.a != nil {
		if c.a.ch != nil {
			d.CallerName = c.a.ch.CallerIDName
		}
		d.A = stream(c.a.rtp)
		d.A.Series = c.a.qualitySeries()
		d.Trunk = c.a.trunk != nil
	}
	if c.b != nil {
		d.CallIDB = c.b.sipCallID
		d.B = stream(c.b.rtp)
		d.B.Series = c.b.qualitySeries()
		d.Trunk = d.Trunk || c.b.trunk != nil
	}
	return d
}

// stream describes what one media leg received.
func stream(l *media.Leg) pbx.RTPStream {
	s := pbx.RTPStream{PayloadType: -1}
	if l == nil {
		return s
	}
	st := l.Stats()
	local := l.LocalAddr()
	s.DstIP, s.DstPort = local.Addr().String(), int(local.Port())
	if st.RemoteAddr.IsValid() {
		s.SrcIP, s.SrcPort = st.RemoteAddr.Addr().Unmap().String(), int(st.RemoteAddr.Port())
	}
	if st.PacketsRecv > 0 {
		s.PayloadType = int(l.Codec().PT)
	}
	s.Lost, s.MaxJitterMillis, s.MOS = st.PacketsLost, st.MaxJitterMillis, st.MOS
	s.LossBursts, s.DelayBuckets = st.LossBursts, st.DelayBuckets
	return s
}
