package pbx

import "time"

// Directory is the static part of the PBX the core needs: which tenants and
// extensions exist. Credentials stay with the engine and the auth layer.
type Directory struct {
	Tenants []TenantEntry
}

// TenantEntry is one tenant of the directory.
type TenantEntry struct {
	Name       string
	Domain     string
	Extensions []ExtensionEntry
	// RecordTrunks names trunks whose calls are always recorded.
	RecordTrunks []string
	Conferences  []ConferenceEntry
	Queues       []QueueEntry
	// Location is the tenant's time zone (nil: UTC).
	Location *time.Location
	// Rates prices outgoing calls by the trunk they leave through (by
	// trunk name); calls through other trunks, and internal calls, are
	// not rated.
	Rates map[string]RateTable
}

// ExtensionEntry is one extension of the directory.
type ExtensionEntry struct {
	Number string
	Name   string
	Record bool // always record this extension's calls
	// Camera is the id of the camera at this extension (a door phone's):
	// events of its calls carry it, so an operator's screen shows who
	// is at the door. 0: none.
	Camera int
}

// Direction of a channel as seen from switchboard.
type Direction string

const (
	Inbound  Direction = "inbound"  // the remote party called us
	Outbound Direction = "outbound" // we called the remote party
)

// Channel is a snapshot of one call leg. Name and UniqueID never change.
type Channel struct {
	Name     string
	UniqueID string
	Tenant   string
	CallID   string // the switchboard call (linked id)
	Peer     string // extension number or trunk name
	Exten    string
	IsTrunk  bool
	Dir      Direction
	State    ChannelState
	// CallerID is what this channel presents: for an inbound channel the
	// caller, for an outbound channel the party it is connected to.
	CallerIDNum  string
	CallerIDName string
	Created      time.Time
	Answered     time.Time
}

// Call is a snapshot of a call: the channels switchboard bridges.
type Call struct {
	ID       string // the first channel's unique id (Asterisk's linkedid)
	Tenant   string
	From     string
	To       string
	Channels []Channel
	Created  time.Time
	Answered time.Time
	// Originated calls were started through the API (click-to-call).
	Originated bool
	// Direction is internal, inbound (a carrier called in) or outbound (an
	// extension called out through a trunk).
	Direction CallDirection
	// App and AppData: the application the call is in (Queue, ConfBridge,
	// ChanSpy; "" for a plain dial) and what it serves (the queue, room or
	// dialled number).
	App, AppData string
	// LegStart and LegChannel describe the call's current leg once it was
	// transferred (zero before): when the leg began (the transfer) and the
	// unique id of the channel that stayed (the transferee). Each leg of a
	// transferred call gets its own CDR row; these let a crash recovery
	// bill only the leg that was live.
	LegStart   time.Time
	LegChannel string
	// Camera is the camera of the door phone that placed (or, failing
	// that, was dialled by) this call; 0: none.
	Camera int
}

// CallDirection classifies a whole call.
type CallDirection string

const (
	CallInternal CallDirection = "internal"
	CallInbound  CallDirection = "inbound"
	CallOutbound CallDirection = "outbound"
)

// Extension is a snapshot of an extension and its device state.
type Extension struct {
	Tenant     string
	Number     string
	Name       string
	State      DeviceState
	StateText  string
	Registered bool
	Contact    string
	UserAgent  string
	// ConnectedNum and ConnectedName are the party the extension talks to
	// or rings with, while it has a live channel.
	ConnectedNum, ConnectedName string
}

// Registration is what an engine reports when a device (un)registers.
type Registration struct {
	Contact   string
	UserAgent string
	SourceIP  string
	Expires   time.Time
}

// Quality carries what the engine measured on a call's signalling and media
// path; the core copies it into the CDR.
type Quality struct {
	CallID          string
	Codec           string
	PDD             time.Duration
	LastSIPResponse int
	HangupBy        string
	SrcUserAgent    string
	DstUserAgent    string
	SrcIP           string
	DstIP           string
	PacketsAB       uint64
	PacketsBA       uint64
	LossAB          float64
	LossBA          float64
	JitterABMillis  float64
	JitterBAMillis  float64
	MOS             float64
	Detail          CallDetail
}

// OriginateRequest is click-to-call: ring From, and when it answers dial To.
type OriginateRequest struct {
	Tenant string
	From   string // an extension of the tenant
	To     string // an extension or an external number
	// CallerID shown to From while it rings; default To.
	CallerID string
	// OutboundCallerID is the number presented to To (and through a trunk
	// to the carrier) instead of From's; the dialect Service allows only
	// numbers configured for the tenant or the principal.
	OutboundCallerID string
	// RingTimeout bounds how long each side may ring; default 30 s.
	RingTimeout time.Duration
	// Owner names the principal asking (tenant-unique, e.g. "user:alice"
	// or "key:crm"); its live calls and originate rate are limited. Empty
	// for the PBX's own originations.
	Owner string
}

// Involves reports whether extension exten is party to the call. An empty
// exten is party to nothing: trunk channels carry no extension, and ""
// must never match them.
func (c Call) Involves(exten string) bool {
	if exten == "" {
		return false
	}
	for i := range c.Channels {
		if c.Channels[i].Exten == exten {
			return true
		}
	}
	return false
}
