package pbx

import "time"

// CDRField names a CDR column a search may filter, sort or group by. The
// set is closed: backends map each to a column of their own and refuse any
// other, so a client-chosen name never reaches a query.
type CDRField string

// The searchable fields. A and B are the caller's and the called party's
// RTP streams (CallDetail.A, .B); SL1..SL10 and D50..D300 the loss-burst
// and delay buckets of both streams summed.
const (
	FCallDate     CDRField = "calldate"
	FID           CDRField = "id"
	FSrc          CDRField = "src"
	FDst          CDRField = "dst"
	FCallerName   CDRField = "caller_name"
	FCallerDomain CDRField = "caller_domain"
	FCalledDomain CDRField = "called_domain"
	FSrcIP        CDRField = "src_ip"
	FDstIP        CDRField = "dst_ip"
	FASrcIP       CDRField = "a_saddr"
	FBSrcIP       CDRField = "b_saddr"
	FCodec        CDRField = "codec"
	FDuration     CDRField = "duration"
	FBillSec      CDRField = "billsec"
	FPDDMillis    CDRField = "pdd_ms"
	FLastSIP      CDRField = "last_sip_response"
	FHangupBy     CDRField = "hangup_by"
	FAnswerDate   CDRField = "answerdate"
	FEndDate      CDRField = "enddate"
	FTrunk        CDRField = "trunk"
	FSrcUA        CDRField = "src_ua"
	FDstUA        CDRField = "dst_ua"
	FCallID       CDRField = "callid"
	FCallIDB      CDRField = "callid_b"
	FNodeID       CDRField = "node_id"
	FMOS          CDRField = "mos"
	FAMOS         CDRField = "a_mos"
	FBMOS         CDRField = "b_mos"
	FAMaxJitter   CDRField = "a_maxjitter"
	FBMaxJitter   CDRField = "b_maxjitter"
	FJitterAB     CDRField = "jitter_ab_ms"
	FJitterBA     CDRField = "jitter_ba_ms"
	FLossAB       CDRField = "loss_ab"
	FLossBA       CDRField = "loss_ba"
	FALost        CDRField = "a_lost"
	FBLost        CDRField = "b_lost"
	FSL1          CDRField = "sl1"
	FSL2          CDRField = "sl2"
	FSL3          CDRField = "sl3"
	FSL4          CDRField = "sl4"
	FSL5          CDRField = "sl5"
	FSL6          CDRField = "sl6"
	FSL7          CDRField = "sl7"
	FSL8          CDRField = "sl8"
	FSL9          CDRField = "sl9"
	FSL10         CDRField = "sl10"
	FD50          CDRField = "d50"
	FD70          CDRField = "d70"
	FD90          CDRField = "d90"
	FD120         CDRField = "d120"
	FD150         CDRField = "d150"
	FD200         CDRField = "d200"
	FD300         CDRField = "d300"
	FDisposition  CDRField = "disposition"
	FUniqueID     CDRField = "uniqueid"
)

// CDROp compares a field with a value.
type CDROp string

const (
	OpEq   CDROp = "="
	OpNe   CDROp = "!="
	OpLt   CDROp = "<"
	OpLe   CDROp = "<="
	OpGt   CDROp = ">"
	OpGe   CDROp = ">="
	OpLike CDROp = "like" // % any run, _ one character; no escape character
	OpIn   CDROp = "in"   // Values
)

// CDRTerm is one comparison. Value is a string, an int64, a float64 or a
// time.Time (for the date fields); Values (strings or numbers) for OpIn.
type CDRTerm struct {
	Field  CDRField
	Op     CDROp
	Value  any
	Values []any
	// Not negates the term.
	Not bool
}

// CDRCond holds when any of its terms does (OR); a search's conditions
// must all hold (AND).
type CDRCond []CDRTerm

// CDRSort orders a search by one field.
type CDRSort struct {
	Field CDRField
	Desc  bool
}

// CDRSearch is a structured CDR query, richer than CDRFilter: every
// condition must hold, sorts apply in order (the id breaks ties), Limit 0
// means the store's default. It is what monitor-style dialects translate
// their filter forms into.
type CDRSearch struct {
	Tenant string
	From   time.Time // calldate >= From
	To     time.Time // calldate <= To
	Where  []CDRCond
	Sort   []CDRSort
	Limit  int
	Offset int
}

// CDRGroup is one row of a grouped summary: the calls whose group field
// had Key, how many, how long (seconds), how many answered, and their
// average MOS, loss fraction, jitter (ms) and PDD (ms) over the calls that
// had media (or, for PDD, rang).
type CDRGroup struct {
	Key         string
	Count       int64
	Answered    int64
	DurationSum int64
	BillSecSum  int64
	MOSAvg      float64
	LossAvg     float64
	JitterAvg   float64
	PDDAvg      float64
}
