package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// SessionDesc is the part of an SDP body the B2BUA acts on: one audio
// stream, G.711 and RFC 4733 telephone-events.
type SessionDesc struct {
	Addr      netip.AddrPort
	Codecs    []Codec // supported codecs in the offer's order
	DTMFPT    uint8   // telephone-event/8000 payload type, 0 if absent
	Direction string  // sendrecv, sendonly, recvonly, inactive
	Ptime     int     // milliseconds
}

// Errors a caller can map to 488 Not Acceptable Here.
var (
	ErrNoAudio      = errors.New("sdp: no audio stream")
	ErrNoCodec      = errors.New("sdp: no supported codec (switchboard speaks PCMU and PCMA)")
	ErrBadAddress   = errors.New("sdp: unusable connection address")
	ErrSDPMalformed = errors.New("sdp: malformed")
)

// ParseSDP reads an offer or answer.
func ParseSDP(body []byte) (SessionDesc, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return SessionDesc{}, fmt.Errorf("%w: %v", ErrSDPMalformed, err)
	}
	var m *sdp.MediaDescription
	for _, md := range s.MediaDescriptions {
		if md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 {
			m = md
			break
		}
	}
	if m == nil {
		return SessionDesc{}, ErrNoAudio
	}
	conn := m.ConnectionInformation
	if conn == nil {
		conn = s.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return SessionDesc{}, fmt.Errorf("%w: no c= line", ErrBadAddress)
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(strings.SplitN(conn.Address.Address, "/", 2)[0]))
	if err != nil {
		return SessionDesc{}, fmt.Errorf("%w: %q", ErrBadAddress, conn.Address.Address)
	}
	port := m.MediaName.Port.Value
	if port <= 0 || port > 65535 {
		return SessionDesc{}, fmt.Errorf("%w: port %d", ErrBadAddress, port)
	}
	d := SessionDesc{Addr: netip.AddrPortFrom(ip.Unmap(), uint16(port)), Direction: "sendrecv", Ptime: 20}

	rtpmap := map[uint8]string{}
	for _, a := range append(append([]sdp.Attribute{}, s.Attributes...), m.Attributes...) {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			d.Direction = a.Key
		case "ptime":
			if n, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && n > 0 && n <= 200 {
				d.Ptime = n
			}
		case "rtpmap":
			ptStr, enc, ok := strings.Cut(a.Value, " ")
			if pt, err := strconv.Atoi(ptStr); ok && err == nil && pt >= 0 && pt < 128 {
				rtpmap[uint8(pt)] = strings.ToLower(strings.TrimSpace(enc))
			}
		}
	}
	if ip.IsUnspecified() && d.Direction == "sendrecv" {
		d.Direction = "sendonly" // RFC 2543 hold: c=0.0.0.0
	}
	for _, f := range m.MediaName.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		enc, mapped := rtpmap[uint8(pt)]
		switch {
		case pt == 0 && (!mapped || strings.HasPrefix(enc, "pcmu/8000")):
			d.Codecs = append(d.Codecs, PCMU)
		case pt == 8 && (!mapped || strings.HasPrefix(enc, "pcma/8000")):
			d.Codecs = append(d.Codecs, PCMA)
		case pt >= 96 && strings.HasPrefix(enc, "pcmu/8000"):
			d.Codecs = append(d.Codecs, Codec{PT: uint8(pt), Name: "PCMU", ClockRate: 8000})
		case pt >= 96 && strings.HasPrefix(enc, "pcma/8000"):
			d.Codecs = append(d.Codecs, Codec{PT: uint8(pt), Name: "PCMA", ClockRate: 8000})
		case strings.HasPrefix(enc, "telephone-event/8000") && d.DTMFPT == 0:
			d.DTMFPT = uint8(pt)
		}
	}
	if len(d.Codecs) == 0 {
		return d, ErrNoCodec
	}
	return d, nil
}

// CheckAddr refuses media addresses no honest peer offers and that would
// aim our RTP somewhere harmful: multicast and broadcast (amplification),
// well-known ports below 1024 (RTP at a DNS or SIP service), and 0.0.0.0
// except as the RFC 2543 way to put a call on hold (sendonly/inactive,
// where we send nothing).
func (d SessionDesc) CheckAddr() error {
	ip := d.Addr.Addr()
	switch {
	case ip.IsUnspecified():
		if d.Direction == "sendonly" || d.Direction == "inactive" {
			return nil
		}
		return fmt.Errorf("%w: %s outside hold", ErrBadAddress, ip)
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: multicast %s", ErrBadAddress, ip)
	case ip.Is4() && ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: broadcast %s", ErrBadAddress, ip)
	case d.Addr.Port() < 1024:
		return fmt.Errorf("%w: port %d", ErrBadAddress, d.Addr.Port())
	}
	return nil
}

// Negotiate picks the first codec of the offer that we support.
func Negotiate(offer SessionDesc, supported []Codec) (Codec, error) {
	for _, c := range offer.Codecs {
		for _, s := range supported {
			if c.Name == s.Name {
				return c, nil
			}
		}
	}
	return Codec{}, ErrNoCodec
}

// BuildSDP renders an offer or answer for d.
func BuildSDP(d SessionDesc, sessID, sessVersion uint64) []byte {
	ipv := "IP4"
	if d.Addr.Addr().Is6() {
		ipv = "IP6"
	}
	ip := d.Addr.Addr().String()
	var b strings.Builder
	b.Grow(300)
	fmt.Fprintf(&b, "v=0\r\no=switchboard %d %d IN %s %s\r\ns=switchboard\r\nc=IN %s %s\r\nt=0 0\r\n", sessID, sessVersion, ipv, ip, ipv, ip)
	b.WriteString("m=audio ")
	b.WriteString(strconv.Itoa(int(d.Addr.Port())))
	b.WriteString(" RTP/AVP")
	for _, c := range d.Codecs {
		b.WriteString(" " + strconv.Itoa(int(c.PT)))
	}
	if d.DTMFPT != 0 {
		b.WriteString(" " + strconv.Itoa(int(d.DTMFPT)))
	}
	b.WriteString("\r\n")
	for _, c := range d.Codecs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\n", c.PT, c.Name, c.ClockRate)
	}
	if d.DTMFPT != 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", d.DTMFPT, d.DTMFPT)
	}
	ptime := d.Ptime
	if ptime == 0 {
		ptime = 20
	}
	fmt.Fprintf(&b, "a=ptime:%d\r\n", ptime)
	dir := d.Direction
	if dir == "" {
		dir = "sendrecv"
	}
	b.WriteString("a=" + dir + "\r\n")
	return []byte(b.String())
}
