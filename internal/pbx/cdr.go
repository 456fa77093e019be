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
	ID          int64       `json:"id"`
	Tenant      string      `json:"tenant"`
	CallDate    time.Time   `json:"calldate"` // when the call was offered
	AnswerDate  time.Time   `json:"answerdate,omitzero"`
	EndDate     time.Time   `json:"enddate"`
	CLID        string      `json:"clid"` // `"Name" <number>`
	Src         string      `json:"src"`
	Dst         string      `json:"dst"`
	Channel     string      `json:"channel"`
	DstChannel  string      `json:"dstchannel"`
	LastApp     string      `json:"lastapp"`
	Duration    int         `json:"duration"` // seconds from offer to end
	BillSec     int         `json:"billsec"`  // seconds from answer to end
	Disposition Disposition `json:"disposition"`
	UniqueID    string      `json:"uniqueid"`
	// EndStatus is the VIPTel end status (answer, busy, noanswer, cancel,
	// congestion, chanunavail, dontcall, invalidargs).
	EndStatus string `json:"endstatus"`

	// Quality and signalling facts.
	CallID          string  `json:"callid"`
	Codec           string  `json:"codec"`
	PDDMillis       int     `json:"pdd_ms"`
	LastSIPResponse int     `json:"last_sip_response"`
	HangupBy        string  `json:"hangup_by"` // caller, callee, system, api
	SrcUserAgent    string  `json:"src_ua"`
	DstUserAgent    string  `json:"dst_ua"`
	SrcIP           string  `json:"src_ip"`
	DstIP           string  `json:"dst_ip"`
	RTPPacketsAB    uint64  `json:"rtp_packets_ab"` // caller -> callee, relayed
	RTPPacketsBA    uint64  `json:"rtp_packets_ba"`
	LossAB          float64 `json:"loss_ab"` // fraction 0..1 seen on the caller's stream
	LossBA          float64 `json:"loss_ba"`
	JitterABMillis  float64 `json:"jitter_ab_ms"` // RFC 3550 interarrival jitter
	JitterBAMillis  float64 `json:"jitter_ba_ms"`
	MOS             float64 `json:"mos"` // estimated, E-model, worse direction
}

// CDRFilter selects CDRs. Zero values mean "no constraint".
type CDRFilter struct {
	Tenant string
	From   time.Time // calldate >= From
	To     time.Time // calldate < To
	// Number matches src or dst exactly.
	Number      string
	Src         string
	Dst         string
	UniqueID    string
	Disposition Disposition
	Limit       int // 0 means the store's default (100); capped at 10000
	Offset      int
	// Descending orders newest first, which is what dashboards want.
	Descending bool
}
