package native

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// DefaultMaxStreamsPerPrincipal bounds the event streams one account or key
// may hold open: a dashboard needs one or two, each costs ~150 KB, and a
// script reconnecting in a loop without closing must not exhaust memory.
const DefaultMaxStreamsPerPrincipal = 20

// connCounter counts open event streams per principal.
type connCounter struct {
	max  int // 0: DefaultMaxStreamsPerPrincipal; <0: no limit
	mu   sync.Mutex
	open map[string]int
	hits atomic.Uint64
}

// acquire reserves a stream for p; release gives it back.
func (c *connCounter) acquire(p auth.Principal) (release func(), ok bool) {
	limit := c.max
	if limit == 0 {
		limit = DefaultMaxStreamsPerPrincipal
	}
	k := p.Tenant + "\x00" + dialect.OwnerKey(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		c.open = map[string]int{}
	}
	if limit > 0 && c.open[k] >= limit {
		c.hits.Add(1)
		return nil, false
	}
	c.open[k]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.open[k]--; c.open[k] <= 0 {
			delete(c.open, k)
		}
	}, true
}

// SetMaxStreams sets the per-principal limit on event streams (<0: none).
func (a *API) SetMaxStreams(n int) { a.conns.max = n }

// OpenStreams is the number of event streams (WebSocket and SSE) open now.
func (a *API) OpenStreams() int {
	a.conns.mu.Lock()
	defer a.conns.mu.Unlock()
	n := 0
	for _, c := range a.conns.open {
		n += c
	}
	return n
}

// StreamLimitHits counts event streams refused by the limit.
func (a *API) StreamLimitHits() uint64 { return a.conns.hits.Load() }

// limitHit answers 429 for a limit that is not the client's fault to
// retry at once.
func (a *API) limitHit(w http.ResponseWriter, limit, msg string) {
	a.log.Info("limit reached", "limit", limit)
	w.Header().Set("Retry-After", strconv.Itoa(int((10 * time.Second).Seconds())))
	writeError(w, http.StatusTooManyRequests, "limit_exceeded", msg)
}
