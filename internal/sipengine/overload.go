package sipengine

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Overload control. A B2BUA pushed past its capacity does not slow down
// gracefully by itself: every INVITE it cannot finish in time is
// retransmitted by the caller, the retransmissions eat the CPU the calls
// in progress needed, and goodput collapses to a fraction of the clean
// rate. The controller keeps the work in progress where the engine still
// answers quickly: it measures setup latency (an INVITE's arrival to the
// INVITE we send the callee: auth, routing, ports, capture, transaction)
// and bounds the calls in setup with a limit that shrinks
// multiplicatively while the latency is above its target and grows
// additively while it is well below. INVITEs beyond the limit get an
// immediate 503 with Retry-After, which costs far less than a call that
// times out. MaxSetups stays the hard ceiling.

const (
	// overloadTarget is the setup latency the controller aims under: far
	// above the ~1 ms an idle engine takes, well below SIP's 500 ms T1
	// after which callers start retransmitting.
	overloadTarget = 200 * time.Millisecond
	// overloadInterval is how often the limit is adjusted.
	overloadInterval = 250 * time.Millisecond
	// overloadMinLimit is the floor: a few calls may always be set up,
	// so the limit can find its way back up from measurements.
	overloadMinLimit = 50
	// overloadSamples bounds the latencies kept per interval.
	overloadSamples = 1024
)

// overloadController adapts the limit on calls in setup. It is safe for
// concurrent use.
type overloadController struct {
	now    func() time.Time
	target time.Duration
	max    int

	mu      sync.Mutex
	limit   float64
	start   time.Time       // of the current interval
	samples []time.Duration // latencies of the current interval (bounded)
	seen    int             // samples offered this interval (for the reservoir)
	over    bool            // the last closed interval was above target
}

func newOverloadController(max int, now func() time.Time) *overloadController {
	if now == nil {
		now = time.Now
	}
	return &overloadController{now: now, target: overloadTarget, max: max, limit: float64(max), start: now()}
}

// admit tells whether one more call may start its setup with inflight
// calls already in setup.
func (o *overloadController) admit(inflight int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.adjustLocked()
	return inflight < int(o.limit)
}

// observe records one call's setup latency.
func (o *overloadController) observe(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen++
	if len(o.samples) < overloadSamples {
		o.samples = append(o.samples, d)
	} else if i := rand.IntN(o.seen); i < overloadSamples {
		o.samples[i] = d // reservoir: every sample of the interval equally likely kept
	}
	o.adjustLocked()
}

// Limit is the current bound on calls in setup.
func (o *overloadController) Limit() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.adjustLocked()
	return int(o.limit)
}

// adjustLocked closes the interval when it is over: the 90th percentile
// latency above target shrinks the limit by a fifth; below half the
// target (or no setups at all) grows it by a quarter, at least 10: from
// the floor back to a ceiling of 2000 in about 4 s.
func (o *overloadController) adjustLocked() {
	now := o.now()
	if now.Sub(o.start) < overloadInterval {
		return
	}
	intervals := int(now.Sub(o.start) / overloadInterval)
	o.start = o.start.Add(time.Duration(intervals) * overloadInterval)
	p90 := time.Duration(0)
	if len(o.samples) > 0 {
		slices.Sort(o.samples)
		p90 = o.samples[len(o.samples)*9/10]
	}
	o.samples, o.seen = o.samples[:0], 0
	o.over = p90 > o.target
	grow := 0 // intervals to grow the limit by
	switch {
	case o.over:
		o.limit = max(float64(min(overloadMinLimit, o.max)), o.limit*0.8)
	case p90 < o.target/2:
		grow = 1
	}
	// Intervals after the first that passed without a setup were idle:
	// the limit recovers through them, so it is back within seconds of a
	// burst however little traffic follows.
	grow += min(intervals-1, 40)
	for range grow {
		o.limit = min(float64(o.max), o.limit+max(10, o.limit*0.25))
	}
}
