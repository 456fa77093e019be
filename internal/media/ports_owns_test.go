package media

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestOwnsOnlyHeldPorts: our RTP/RTCP sockets (held or draining) are
// ours; a port of the range another process holds is not.
func TestOwnsOnlyHeldPorts(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	a, err := NewPortAllocator(lo, 38000, 38010, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 38000})
	if err != nil {
		t.Skip("port 38000 busy")
	}
	defer other.Close()
	l, err := a.NewLeg() // skips 38000, held by "another process"
	if err != nil {
		t.Fatal(err)
	}
	mine := l.LocalAddr()
	if !a.Owns(mine) || !a.Owns(netip.AddrPortFrom(lo, mine.Port()+1)) {
		t.Fatalf("our socket %s not ours", mine)
	}
	if a.Owns(netip.AddrPortFrom(lo, 38000)) || a.Owns(netip.AddrPortFrom(lo, 38008)) {
		t.Fatal("a port we do not hold counted as ours")
	}
	l.Close()
	if !a.Owns(mine) {
		t.Fatal("a draining port is still ours: late packets may reach it")
	}
}
