// Package eventlog keeps every core event in a durable, bounded log so a
// client that reconnects can ask for what it missed ("since=N") and get
// each event exactly once, in order — across switchboard restarts too,
// since numbering continues from the log. It subscribes to the core like
// any adapter and writes in batches; it knows nothing of wire formats.
package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/batch"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Store is what the log needs of the database.
type Store interface {
	AppendEvents(ctx context.Context, es []pbx.StoredEvent) error
	EventsSince(ctx context.Context, tenant string, since uint64, limit int) ([]pbx.StoredEvent, error)
	OldestEventSeq(ctx context.Context, tenant string) (uint64, error)
	LastEventSeqs(ctx context.Context) (map[string]uint64, error)
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}

// Core is what the log needs of the domain core.
type Core interface {
	Subscribe(tenant string, buf int) *eventbus.Subscription[pbx.Event]
	SubscribeAt(tenant string, buf int) (*eventbus.Subscription[pbx.Event], uint64)
	SeedEventSequence(tenant string, seq uint64)
}

// Options tune the log.
type Options struct {
	MaxAge time.Duration // default 7 days
	Logger *slog.Logger
}

// Log is the durable event log.
type Log struct {
	store  Store
	core   Core
	opts   Options
	log    *slog.Logger
	sub    *eventbus.Subscription[pbx.Event]
	done   chan struct{}
	cancel context.CancelFunc
}

// maxBatch bounds one write.
const maxBatch = 1000

// Start seeds the core's numbering from the log and begins logging. Call it
// before anything publishes events; Close stops it after the core closed.
func Start(ctx context.Context, core Core, st Store, opts Options) (*Log, error) {
	if opts.MaxAge <= 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	last, err := st.LastEventSeqs(ctx)
	if err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	for t, seq := range last {
		core.SeedEventSequence(t, seq)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Log{store: st, core: core, opts: opts, log: opts.Logger.With("component", "eventlog"),
		sub: core.Subscribe("", 1<<14), done: make(chan struct{}), cancel: cancel}
	go l.run(rctx)
	return l, nil
}

// Close waits until every event received has been written.
func (l *Log) Close() {
	<-l.done // the subscription ends when the core's bus closes
	l.cancel()
}

func (l *Log) run(ctx context.Context) {
	defer close(l.done)
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	l.prune(ctx)
	for {
		select {
		case env, ok := <-l.sub.C():
			if !ok {
				if errors.Is(l.sub.Err(), eventbus.ErrSlowConsumer) {
					// The database fell far behind; keep logging, and say
					// plainly that replay has a hole here.
					l.log.Error("event log fell behind; events were not logged", "err", l.sub.Err())
					l.sub = l.core.Subscribe("", 1<<14)
					continue
				}
				return
			}
			envs := batch.Collect(env, l.sub.C(), maxBatch)
			es := make([]pbx.StoredEvent, len(envs))
			for i := range envs {
				es[i] = stored(envs[i])
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if err := l.store.AppendEvents(wctx, es); err != nil {
				l.log.Error("event log write failed", "events", len(es), "err", err)
			}
			cancel()
		case <-prune.C:
			l.prune(ctx)
		}
	}
}

func (l *Log) prune(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if n, err := l.store.PruneEvents(pctx, time.Now().Add(-l.opts.MaxAge)); err != nil {
		l.log.Warn("event log prune failed", "err", err)
	} else if n > 0 {
		l.log.Info("event log pruned", "events", n)
	}
}

func stored(env eventbus.Envelope[pbx.Event]) pbx.StoredEvent {
	body := Encode(env.Event)
	return pbx.StoredEvent{Tenant: env.Tenant, Seq: env.Seq, Time: env.Event.Time, Type: env.Event.Type, CallID: env.Event.CallID(), Body: body}
}

// ErrTruncated is returned (wrapped, with the oldest kept sequence) when
// a client asks for events older than the log keeps.
var ErrTruncated = errors.New("eventlog: requested events are older than the log keeps")

// Replay delivers the tenant's events with since < seq <= upTo from the
// log, waiting briefly for the writer to catch up with upTo (events
// published just before the caller subscribed). It reports the oldest kept
// sequence when since is older than that (the client missed events that
// are gone) through truncated, and returns the last sequence delivered.
func (l *Log) Replay(ctx context.Context, tenant string, since, upTo uint64, fn func(eventbus.Envelope[pbx.Event]) error) (last uint64, truncatedFrom uint64, err error) {
	oldest, err := l.store.OldestEventSeq(ctx, tenant)
	if err != nil {
		return since, 0, err
	}
	if oldest > since+1 {
		truncatedFrom = oldest
	}
	last = since
	deadline := time.Now().Add(5 * time.Second)
	for last < upTo {
		es, err := l.store.EventsSince(ctx, tenant, last, maxBatch)
		if err != nil {
			return last, truncatedFrom, err
		}
		for _, e := range es {
			if e.Seq > upTo {
				return last, truncatedFrom, nil
			}
			ev, err := Decode(e.Body)
			if err != nil {
				// Skipped, not fatal: one unreadable row must not make
				// every later event unreachable.
				l.log.Warn("unreadable logged event skipped", "tenant", tenant, "seq", e.Seq, "err", err)
				last = e.Seq
				continue
			}
			if err := fn(eventbus.Envelope[pbx.Event]{Tenant: tenant, Seq: e.Seq, Event: ev}); err != nil {
				return last, truncatedFrom, err
			}
			last = e.Seq
		}
		if len(es) == 0 {
			if time.Now().After(deadline) {
				return last, truncatedFrom, fmt.Errorf("eventlog: events %d-%d not logged within 5 s", last+1, upTo)
			}
			select {
			case <-ctx.Done():
				return last, truncatedFrom, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return last, truncatedFrom, nil
}
