package pbx

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// IDs hands out Asterisk-style unique ids ("<unix seconds>.<sequence>") and
// channel name suffixes. CRM integrations key call records by these strings
// and several specs show them, so the shape is kept; the sequence never
// repeats within a process and starts from a caller-given value so a
// restarted node does not reissue ids of calls still in its CDRs.
type IDs struct {
	mu  sync.Mutex
	now func() time.Time
	seq uint64
	ch  uint32
}

// NewIDs returns a generator. now may be nil (time.Now); start is the first
// sequence number.
func NewIDs(now func() time.Time, start uint64) *IDs {
	if now == nil {
		now = time.Now
	}
	return &IDs{now: now, seq: start}
}

// UniqueID returns the next "<unix seconds>.<sequence>".
func (g *IDs) UniqueID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.seq
	g.seq++
	return strconv.FormatInt(g.now().Unix(), 10) + "." + strconv.FormatUint(s, 10)
}

// ChannelName returns "<tech>/<peer>-<8 hex>", as in "SIP/1004-0000001a".
func (g *IDs) ChannelName(tech, peer string) string {
	g.mu.Lock()
	g.ch++
	n := g.ch
	g.mu.Unlock()
	return fmt.Sprintf("%s/%s-%08x", tech, peer, n)
}
