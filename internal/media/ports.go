package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ErrNoPorts means every port of the range is in use or draining.
var ErrNoPorts = errors.New("media: no free RTP port")

// PortAllocator hands out even RTP ports (RTCP keeps +1) from a range.
// A released port drains before reuse so that late packets of one call
// never reach the next. Ports another process holds are skipped.
type PortAllocator struct {
	ip       netip.Addr
	min, max int
	drain    time.Duration
	now      func() time.Time

	mu       sync.Mutex
	next     int
	inUse    map[int]bool
	draining map[int]time.Time
}

// NewPortAllocator covers the even ports of [min, max].
func NewPortAllocator(ip netip.Addr, min, max int, drain time.Duration) (*PortAllocator, error) {
	if min%2 == 1 {
		min++
	}
	if min < 1024 || max > 65535 || max <= min {
		return nil, fmt.Errorf("media: bad RTP port range %d-%d", min, max)
	}
	return &PortAllocator{ip: ip, min: min, max: max, drain: drain, now: time.Now, next: min,
		inUse: map[int]bool{}, draining: map[int]time.Time{}}, nil
}

// Owns reports whether ap is one of this allocator's RTP or RTCP sockets,
// held by a leg or draining: a peer's SDP pointing there would loop our
// media into ourselves. Other ports of the range are not ours: another
// process on this host (a softphone beside switchboard) may hold them,
// and acquire skips those.
func (a *PortAllocator) Owns(ap netip.AddrPort) bool {
	if ap.Addr().Unmap() != a.ip.Unmap() {
		return false
	}
	p := int(ap.Port())
	p -= p % 2 // RTCP rides on the RTP port + 1
	if p < a.min || p > a.max {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inUse[p] {
		return true
	}
	until, ok := a.draining[p]
	return ok && a.now().Before(until)
}

// InUse is the number of ports held by live legs.
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inUse)
}

func (a *PortAllocator) acquire() (*net.UDPConn, int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := (a.max-a.min)/2 + 1
	now := a.now()
	for i := 0; i < n; i++ {
		p := a.next
		a.next += 2
		if a.next > a.max {
			a.next = a.min
		}
		if a.inUse[p] {
			continue
		}
		if until, ok := a.draining[p]; ok {
			if now.Before(until) {
				continue
			}
			delete(a.draining, p)
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(p))))
		if err != nil {
			continue // held by someone else
		}
		a.inUse[p] = true
		return conn, p, nil
	}
	return nil, 0, ErrNoPorts
}

func (a *PortAllocator) release(p int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.inUse, p)
	if a.drain > 0 {
		a.draining[p] = a.now().Add(a.drain)
	}
}
