package sipengine

import (
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// countedMethods are the request methods counted one by one; the rest
// are "other".
var countedMethods = [...]sip.RequestMethod{sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.REGISTER,
	sip.OPTIONS, sip.INFO, sip.REFER, sip.NOTIFY, sip.MESSAGE, sip.UPDATE, sip.SUBSCRIBE, sip.PRACK}

// counters are the engine's monotonic counts for monitoring. They are
// plain atomics so the hot path pays one add; the metrics package reads
// them when scraped.
type counters struct {
	requests         [len(countedMethods) + 1]atomic.Uint64 // last: other methods
	shed             atomic.Uint64                          // INVITEs refused 503 under overload
	guardDropped     atomic.Uint64                          // datagrams of blocked addresses dropped unparsed
	datagramsIn      atomic.Uint64                          // UDP SIP datagrams read (requests, responses, retransmissions)
	datagramsOut     atomic.Uint64                          // UDP SIP datagrams sent
	strayResponses   atomic.Uint64                          // responses matching no transaction (retransmissions)
	captureDropped   atomic.Uint64                          // packets left out of captures: the disk was behind
	recordingDropped atomic.Uint64                          // samples recordings threw away: the writer was behind
}

// count wraps a request handler so every request that reaches it is
// counted by method (retransmissions absorbed by sipgo's transactions do
// not reach handlers).
func (e *Engine) count(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		i := len(countedMethods)
		for j, m := range countedMethods {
			if req.Method == m {
				i = j
				break
			}
		}
		e.counts.requests[i].Add(1)
		h(req, tx)
	}
}

// SIPCounters is a snapshot of the engine's counts.
type SIPCounters struct {
	// Requests by method ("OTHER" for the rest).
	Requests map[string]uint64
	// Shed counts INVITEs answered 503 Overloaded with Retry-After.
	Shed uint64
	// GuardDropped counts datagrams from blocked addresses dropped unread.
	GuardDropped uint64
	// DatagramsIn and DatagramsOut count SIP messages over UDP, every
	// retransmission included (TCP and TLS are not counted).
	DatagramsIn, DatagramsOut uint64
	// StrayResponses counts responses that matched no transaction: mostly
	// a peer's retransmitted final responses.
	StrayResponses uint64
	// CaptureDroppedPackets and RecordingDroppedSamples count media left
	// out of captures and recordings because the disk was behind.
	CaptureDroppedPackets   uint64
	RecordingDroppedSamples uint64
	// InSetup is the calls being set up now; SetupLimit the overload
	// controller's current bound on them.
	InSetup, SetupLimit int
}

// Counters returns the engine's monotonic counts.
func (e *Engine) Counters() SIPCounters {
	c := SIPCounters{Requests: make(map[string]uint64, len(countedMethods)+1)}
	for i, m := range countedMethods {
		c.Requests[string(m)] = e.counts.requests[i].Load()
	}
	c.Requests["OTHER"] = e.counts.requests[len(countedMethods)].Load()
	c.Shed = e.counts.shed.Load()
	c.GuardDropped = e.counts.guardDropped.Load()
	c.DatagramsIn, c.DatagramsOut = e.counts.datagramsIn.Load(), e.counts.datagramsOut.Load()
	c.StrayResponses = e.counts.strayResponses.Load()
	c.CaptureDroppedPackets = e.counts.captureDropped.Load()
	c.RecordingDroppedSamples = e.counts.recordingDropped.Load()
	e.mu.Lock()
	c.InSetup = e.setups
	e.mu.Unlock()
	c.SetupLimit = min(e.overload.Limit(), e.cfg.MaxSetups)
	return c
}
