package sipengine

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// ownIPs lists the addresses this engine answers on: an SDP pointing RTP
// at one of them with our SIP port (or our own RTP ports) would make us
// flood ourselves.
func (e *Engine) collectOwnIPs() {
	seen := map[netip.Addr]bool{}
	add := func(ip netip.Addr) {
		if ip.IsValid() && !seen[ip.Unmap()] {
			seen[ip.Unmap()] = true
			e.ownIPs = append(e.ownIPs, ip.Unmap())
		}
	}
	add(e.cfg.AdvertiseIP)
	add(e.addr.Addr())
	if e.addr.Addr().IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					add(p.Addr())
				}
			}
		}
	}
}

// checkMedia refuses SDP media addresses we must not send RTP to: see
// media.SessionDesc.CheckAddr, plus our own SIP ports and RTP range.
func (e *Engine) checkMedia(d media.SessionDesc) error {
	if err := d.CheckAddr(); err != nil {
		return err
	}
	if e.cfg.Ports.Owns(d.Addr) {
		return fmt.Errorf("%w: our own RTP port %s", media.ErrBadAddress, d.Addr)
	}
	ip := d.Addr.Addr().Unmap()
	for _, own := range e.ownIPs {
		if ip != own && !(own.IsUnspecified() && ip.IsLoopback()) {
			continue
		}
		if d.Addr.Port() == e.addr.Port() || (e.tlsLn != nil && d.Addr.Port() == e.TLSAddr().Port()) {
			return fmt.Errorf("%w: our SIP port %s", media.ErrBadAddress, d.Addr)
		}
	}
	return nil
}

// setRemote points a leg's RTP at the SDP address. Only when that address
// is the signalling peer's own IP is it used before RTP arrives; otherwise
// the leg waits for the peer's first packet and answers where it came from
// (symmetric RTP), so an SDP cannot aim our audio at a third party. Phones
// behind NAT and carriers with separate media servers send RTP first.
func (e *Engine) setRemote(l *leg, d media.SessionDesc, codec media.Codec, sigIP string) {
	if ip, err := netip.ParseAddr(sigIP); err == nil && ip.Unmap() == d.Addr.Addr().Unmap() {
		l.rtp.SetRemote(d.Addr, codec, d.DTMFPT)
		return
	}
	l.rtp.SetRemoteUnverified(d.Addr, codec, d.DTMFPT)
}

// sdpWarning is the Warning header value of a 488: 301 (incompatible
// network address) for unusable addresses, 399 otherwise.
func sdpWarning(err error) string {
	code := "399"
	if errors.Is(err, media.ErrBadAddress) {
		code = "301"
	}
	return code + ` switchboard "` + sanitizeWarning(err.Error()) + `"`
}
