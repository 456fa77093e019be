// Package sms is switchboard's text-message subsystem: the message model
// and its states (CloudPBX's, the richest of the specs), durable storage
// behind a small interface, drivers that hand messages to a gateway
// (sim, http, sip) and the queue that sends them with retries, resumes
// after a restart, publishes an "sms.status" event on every change and
// writes one CDR per message. The node builds it; dialects reach it
// through internal/dialect's Service, which checks rights and tenants.
// It imports pbx and store, never an engine or a dialect: the sip driver
// reaches the SIP engine through the MessageSender interface the node
// wires.
package sms

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// EvStatus is the event published on every state change of a message,
// with Data {"id", "to", "status"} (and "error", "cost" when known,
// "owner" for visibility): CloudPBX's smsSendResponse, a native event.
const EvStatus pbx.EventType = "sms.status"

// State is a message's state: CloudPBX's names (spec 2.3.5), which every
// dialect shows or maps.
type State string

// The states. A message starts in QUEUE; a transient gateway failure puts
// it in RENEWAL until the next attempt; ACCEPTED (the gateway took it),
// SENT (the operator sent it) and DELIVERED follow. The others are final
// failures: UNDELIVERED and REJECTED (a bad or unreachable number, as the
// operator reports it), EXPIRED (unreachable too long), FAILED (our side
// or the gateway gave up), UNKNOWN (no delivery report came).
const (
	Queue       State = "QUEUE"
	Renewal     State = "RENEWAL"
	Accepted    State = "ACCEPTED"
	Sent        State = "SENT"
	Delivered   State = "DELIVERED"
	Undelivered State = "UNDELIVERED"
	Rejected    State = "REJECTED"
	Expired     State = "EXPIRED"
	Failed      State = "FAILED"
	Unknown     State = "UNKNOWN"
)

// AllStates lists the states a message can be in.
var AllStates = []State{Queue, Renewal, Accepted, Sent, Delivered, Undelivered, Rejected, Expired, Failed, Unknown}

// ParseState reads a state name, case-insensitively; ok is false for a
// name that is not one.
func ParseState(s string) (State, bool) {
	st := State(strings.ToUpper(strings.TrimSpace(s)))
	for _, x := range AllStates {
		if x == st {
			return st, true
		}
	}
	return "", false
}

// Final reports whether nothing follows the state.
func (s State) Final() bool {
	switch s {
	case Delivered, Undelivered, Rejected, Expired, Failed, Unknown:
		return true
	}
	return false
}

// rank orders the progress states so a late report (SENT after
// DELIVERED) never moves a message back.
func (s State) rank() int {
	switch s {
	case Queue, Renewal:
		return 0
	case Accepted:
		return 1
	case Sent:
		return 2
	}
	return 3 // final
}

// Message is one SMS.
type Message struct {
	ID     string // decimal, like CloudPBX's ("3421756012963258480"); also the CDR's uniqueid
	Tenant string
	// Owner is the account that sent it (dialect.OwnerKey), so restricted
	// accounts see only their own messages.
	Owner string
	From  string
	To    string
	Body  string
	State State
	// Timestamps per state; zero until the message reached it. Done is
	// when it reached its final state.
	Queued   time.Time
	Accepted time.Time
	Sent     time.Time
	Done     time.Time
	Updated  time.Time
	// Attempts counts hand-overs to the driver; NextAttempt is when the
	// queue tries again (RENEWAL).
	Attempts    int
	NextAttempt time.Time
	Error       string
	// Driver names the driver that took it; Ref is the gateway's id for
	// it (status callbacks name it).
	Driver string
	Ref    string
	// Cost in the smallest currency unit (grosze) and its zone, when the
	// gateway or the rate table priced it (Rated).
	Rated bool
	Cost  int64
	Zone  string
}

// Filter selects messages of a tenant, newest first.
type Filter struct {
	Tenant string
	Owner  string // "": any
	State  State  // "": any
	From   time.Time
	To     time.Time // exclusive
	Limit  int
	Offset int
}

// Store keeps messages durably. Every write returns once the row
// survives a crash of the process. Backends run storetest.TestSMSStore.
type Store interface {
	InsertSMS(ctx context.Context, m *Message) error
	// UpdateSMS replaces the mutable fields of the message (tenant, id).
	UpdateSMS(ctx context.Context, m *Message) error
	// GetSMS returns one message of a tenant, or store.ErrNotFound.
	GetSMS(ctx context.Context, tenant, id string) (Message, error)
	// SMSByRef finds a tenant's message by its driver reference.
	SMSByRef(ctx context.Context, tenant, ref string) (Message, error)
	// QuerySMS returns the page selected by f (newest first) and the
	// number of matches regardless of paging.
	QuerySMS(ctx context.Context, f Filter) ([]Message, int, error)
	// PendingSMS returns every message not in a final state, oldest
	// first: what a restart resumes.
	PendingSMS(ctx context.Context) ([]Message, error)
}

// Errors of the subsystem.
var (
	// ErrNoGateway: the tenant has no SMS driver configured.
	ErrNoGateway = errors.New("no SMS gateway is configured for this PBX")
	// ErrTransient marks a driver failure worth retrying (a timeout, a
	// 5xx, a 408/480/503 from a SIP trunk).
	ErrTransient = errors.New("transient gateway failure")
)

// CDRWriter is where the queue writes one CDR per finished message.
type CDRWriter interface {
	InsertCDR(ctx context.Context, c *pbx.CDR) error
}

// Publisher is the core's event stream (pbx.Core.Publish).
type Publisher interface {
	Publish(tenant string, e pbx.Event) error
}

// Pricer prices a message to number from a rate table (the per-trunk
// rate tables of the config); ok is false when no rate applies.
type Pricer func(tenant, number string) (zone string, cost int64, ok bool)
