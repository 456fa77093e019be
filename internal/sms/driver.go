package sms

import (
	"context"
	"fmt"
)

// Driver hands messages to one gateway.
type Driver interface {
	// Kind names the driver: sim, http, sip.
	Kind() string
	// Send hands m over and returns the state it reached (ACCEPTED,
	// SENT, DELIVERED, or a final failure) with the gateway's reference
	// and cost when it says them. An error wrapping ErrTransient is
	// retried with backoff; any other error fails the message.
	Send(ctx context.Context, m Message, rep Reporter) (Result, error)
	// Close stops what the driver runs in the background.
	Close() error
}

// Resumer is implemented by drivers that report later states themselves
// (sim): after a restart the queue hands them the messages still
// between ACCEPTED and a final state.
type Resumer interface {
	Resume(m Message, rep Reporter)
}

// Result is what a driver says of a hand-over.
type Result struct {
	State State
	Ref   string
	// Cost, when the gateway priced the message (Costed).
	Costed bool
	Cost   int64
	Error  string
}

// Reporter receives states a gateway reports after the hand-over
// (delivery reports, status callbacks).
type Reporter interface {
	Report(ctx context.Context, u Update) error
}

// Update is a later state of a message, named by our id or, for gateway
// callbacks, by the gateway's reference.
type Update struct {
	Tenant string
	ID     string
	Ref    string
	State  State
	Costed bool
	Cost   int64
	Error  string
}

// transient wraps err as worth retrying.
func transient(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrTransient, fmt.Sprintf(format, a...))
}
