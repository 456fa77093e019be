package dialect

import (
	"context"
	"errors"

	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ErrNoReplay: the node keeps no event log, so missed events cannot be
// replayed (since=N is not available).
var ErrNoReplay = errors.New("no event log: replay is not available")

// Subscriber is the core's live event stream.
type Subscriber interface {
	SubscribeAt(tenant string, buf int) (*eventbus.Subscription[pbx.Event], uint64)
}

// Replayer is the durable event log.
type Replayer interface {
	Replay(ctx context.Context, tenant string, since, upTo uint64, fn func(eventbus.Envelope[pbx.Event]) error) (last uint64, truncatedFrom uint64, err error)
}

// NewEvents joins the live stream and the log (nil: no replay) into the
// Events a dialect is given.
func NewEvents(live Subscriber, log Replayer) Events { return events{live, log} }

type events struct {
	Subscriber
	log Replayer
}

func (e events) CanReplay() bool { return e.log != nil }

func (e events) Replay(ctx context.Context, tenant string, since, upTo uint64, fn func(eventbus.Envelope[pbx.Event]) error) (uint64, uint64, error) {
	if e.log == nil {
		return since, 0, ErrNoReplay
	}
	return e.log.Replay(ctx, tenant, since, upTo, fn)
}
