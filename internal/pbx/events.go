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
	// EvCallQuality: a leg's audio crossed a quality threshold or came
	// back (Quality, Channel).
	EvCallQuality EventType = "call.quality"
	// EvShutdown: the node is stopping; live calls are hung up next.
	// Clients should reconnect later with since=<last seq>.
	EvShutdown EventType = "system.shutdown"
)

// Event is one fact published by the core. Exactly the fields relevant to
// Type are set.
type Event struct {
	Type      EventType
	Time      time.Time
	Extension *Extension
	Channel   *Channel
	Call      *Call
	CDR       *CDR
	// Cause is the hangup cause or end status where one applies.
	Cause string
	// Digit is the DTMF digit of a channel.dtmf event; Via says how it
	// came: "rfc4733" or "info".
	Digit string
	Via   string
	// Replaces is, in call.transferred, the unique id of the channel that
	// left the call; Channel is the one that took its place.
	Replaces string
	// Pickup marks a call.transferred that was a pickup: the new channel
	// answered a call ringing elsewhere.
	Pickup bool
	// Recording is set on recording.* events.
	Recording *Recording
	// Conference is set on conference.* events.
	Conference *Conference
	// Queue, Member and Caller are set on queue.* events.
	Queue  *Queue
	Member *QueueMember
	Caller *QueueCaller
	// Quality is set on call.quality.
	Quality *QualityAlarm
	// Data carries the facts of events that are not about calls (relays,
	// cameras, SMS, system), published with Core.Publish.
	Data map[string]string
	// Camera is, on every call and channel event of a call from or to a
	// door phone with a camera, that camera's id (see Call.Camera).
	Camera int
}

// StoredEvent is an event as the durable event log keeps it: the JSON of
// Event under its tenant and sequence number.
type StoredEvent struct {
	Tenant string
	Seq    uint64
	Time   time.Time
	Type   EventType
	CallID string // Event.CallID(), indexed
	Body   []byte // JSON of Event
}
