package pbx

import "time"

// EventType names an event on the core's stream. The strings are the native
// API's wire names too; dialects translate them.
type EventType string

const (
	EvExtensionState EventType = "extension.state"
	EvChannelNew     EventType = "channel.new"
	EvChannelState   EventType = "channel.state"
	EvChannelHangup  EventType = "channel.hangup"
	EvCallNew        EventType = "call.new"
	EvCallAnswered   EventType = "call.answered"
	EvCallEnded      EventType = "call.ended"
	EvDTMF           EventType = "channel.dtmf"
	// EvCallTransferred: a channel of the call was replaced by a new one
	// (redirect); Replaces names the old channel's unique id.
	EvCallTransferred EventType = "call.transferred"
	// Recording events carry the recording's index entry.
	EvRecordingStarted EventType = "recording.started"
	EvRecordingState   EventType = "recording.state" // paused or resumed
	EvRecordingStopped EventType = "recording.stopped"
	// Conference events carry the room (with its members after the change)
	// and the channel that joined or left.
	EvConfJoin  EventType = "conference.join"
	EvConfLeave EventType = "conference.leave"
	// Queue events carry the queue (members and waiting count after the
	// change) and the caller or member concerned; Cause is the leave
	// reason or the pause reason.
	EvQueueJoin           EventType = "queue.caller.join"
	EvQueueLeave          EventType = "queue.caller.leave"
	EvQueueShift          EventType = "queue.caller.shift"
	EvQueueMemberAdded    EventType = "queue.member.added"
	EvQueueMemberRemoved  EventType = "queue.member.removed"
	EvQueueMemberPaused   EventType = "queue.member.paused"
	EvQueueMemberUnpaused EventType = "queue.member.unpaused"
	EvQueueMemberStatus   EventType = "queue.member.status"
)

// Event is one fact published by the core. Exactly the fields relevant to
// Type are set.
type Event struct {
	Type      EventType  `json:"type"`
	Time      time.Time  `json:"time"`
	Extension *Extension `json:"extension,omitempty"`
	Channel   *Channel   `json:"channel,omitempty"`
	Call      *Call      `json:"call,omitempty"`
	CDR       *CDR       `json:"cdr,omitempty"`
	// Cause is the hangup cause or end status where one applies.
	Cause string `json:"cause,omitempty"`
	// Digit is the DTMF digit of a channel.dtmf event; Via says how it
	// came: "rfc4733" or "info".
	Digit string `json:"digit,omitempty"`
	Via   string `json:"via,omitempty"`
	// Replaces is, in call.transferred, the unique id of the channel that
	// left the call; Channel is the one that took its place.
	Replaces string `json:"replaces,omitempty"`
	// Recording is set on recording.* events.
	Recording *Recording `json:"recording,omitempty"`
	// Conference is set on conference.* events.
	Conference *Conference `json:"conference,omitempty"`
	// Queue, Member and Caller are set on queue.* events.
	Queue  *Queue       `json:"queue,omitempty"`
	Member *QueueMember `json:"member,omitempty"`
	Caller *QueueCaller `json:"caller,omitempty"`
}

// StoredEvent is an event as the durable event log keeps it: the JSON of
// Event under its tenant and sequence number.
type StoredEvent struct {
	Tenant string
	Seq    uint64
	Time   time.Time
	Type   EventType
	Body   []byte // JSON of Event
}
