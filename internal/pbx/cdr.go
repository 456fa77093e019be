package pbx

import "time"

// Disposition is the Asterisk CDR disposition; billing systems written for
// Asterisk compare these exact strings.
type Disposition string

const (
	DispAnswered Disposition = "ANSWERED"
	DispNoAnswer Disposition = "NO ANSWER"
	DispBusy     Disposition = "BUSY"
	DispFailed   Disposition = "FAILED"
)

// CDR is one finished call. The first block mirrors the Asterisk fields the
// CloudPBX spec exposes; the rest is what switchboard measured on the media
// and signalling path so that quality reports need no second source.
type CDR struct {
	ID          int64
	Tenant      string
	CallDate    time.Time // when the call was offered
	AnswerDate  time.Time
	EndDate     time.Time
	CLID        string // `"Name" <number>`
	Src         string
	Dst         string
	Channel     string
	DstChannel  string
	LastApp     string
	Duration    int // seconds from offer to end
	BillSec     int // seconds from answer to end
	Disposition Disposition
	UniqueID    string
	// Rated calls left through a trunk with a rate table whose prefix
	// matched: Zone names the rate and Cost is the price in the smallest
	// currency unit (grosze), rounded up. Unrated calls have neither.
	Rated bool
	Zone  string
	Cost  int64
	// EndStatus is the VIPTel end status (answer, busy, noanswer, cancel,
	// congestion, chanunavail, dontcall, invalidargs).
	EndStatus string

	// Quality and signalling facts.
	CallID          string
	Codec           string
	PDDMillis       int
	LastSIPResponse int
	HangupBy        string // caller, callee, system, api
	SrcUserAgent    string
	DstUserAgent    string
	SrcIP           string
	DstIP           string
	RTPPacketsAB    uint64 // caller -> callee, relayed
	RTPPacketsBA    uint64
	LossAB          float64 // fraction 0..1 seen on the caller's stream
	LossBA          float64
	JitterABMillis  float64 // RFC 3550 interarrival jitter
	JitterBAMillis  float64
	MOS             float64 // estimated, E-model, worse direction
	// Detail is the per-stream and per-leg detail quality monitors use.
	Detail CallDetail
}

// CDRFilter selects CDRs. Zero values mean "no constraint".
type CDRFilter struct {
	Tenant string
	From   time.Time // calldate >= From
	To     time.Time // calldate < To
	// Number matches src or dst exactly.
	Number   string
	Src      string
	Dst      string
	UniqueID string
	// CallID matches either leg's SIP Call-ID (CDR.CallID or
	// Detail.CallIDB) exactly: a call found by what a SIP trace shows.
	CallID      string
	Disposition Disposition
	Limit       int // 0 means the store's default (100); capped at 10000
	Offset      int
	// Descending orders newest first, which is what dashboards want.
	Descending bool
}
