package sipengine

import (
	"net"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// allowMethods are the methods switchboard accepts within and outside
// dialogs; 200 OKs and INVITEs carry them so phones know, for example,
// that they may transfer with REFER (RFC 3261 §20.5).
const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE"

// supportedOptions are the SIP extensions switchboard implements: Replaces
// (RFC 3891) in a REFER's Refer-To, for attended transfer, and session
// timers (RFC 4028); not 100rel.
const supportedOptions = "replaces, timer"

// addCapabilities puts Allow and Supported into an answer.
func addCapabilities(res *sip.Response) {
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Supported", supportedOptions))
}

// callMOS is the CDR's MOS: the worse direction's estimate when both
// directions carried RTP. A direction without a single packet has no
// score: the call then reports 0 (none) instead of a perfect-looking 4.39,
// and the one-way audio is logged (the CDR shows it as a zero packet
// count).
func (c *call) callMOS(sa, sb media.Stats) float64 {
	switch {
	case sa.PacketsRecv > 0 && sb.PacketsRecv > 0:
		return min(sa.MOS, sb.MOS)
	case sa.PacketsRecv == 0 && sb.PacketsRecv == 0:
		// Signalling-only calls (load tests, calls answered and ended at
		// once) are normal enough not to warn about, at thousands a second.
		c.e.log.Debug("no audio in either direction", "call_id", c.id)
	case sa.PacketsRecv == 0:
		c.e.log.Warn("one-way audio: nothing from the caller's side", "call_id", c.id, "packets_ba", sb.PacketsRecv)
	default:
		c.e.log.Warn("one-way audio: nothing from the callee's side", "call_id", c.id, "packets_ab", sa.PacketsRecv)
	}
	return 0
}

// hostOf is the host part of a host:port destination.
func hostOf(dest string) string {
	if h, _, err := net.SplitHostPort(dest); err == nil {
		return h
	}
	return dest
}
