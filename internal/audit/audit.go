// Package audit keeps the durable record of who did what through the APIs:
// every state-changing request and every access to recordings and
// captures, with the caller's address, the outcome and the client's
// optional reason. Entries are written in order by one goroutine in
// batches, so recording them never slows a request down.
package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Entry is one audited request.
type Entry struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Tenant    string    `json:"tenant"`
	Principal string    `json:"principal"` // user or key name; "" when authentication failed
	Role      string    `json:"role,omitempty"`
	APIKey    bool      `json:"api_key"`
	Remote    string    `json:"remote"`
	Dialect   string    `json:"dialect"` // native, webtapi, ...
	Action    string    `json:"action"`  // the route, e.g. "POST /api/v1/recordings"
	Target    string    `json:"target,omitempty"`
	Status    int       `json:"status"`
	Reason    string    `json:"reason,omitempty"` // the client's auditReason
}

// Filter selects entries; zero values mean no constraint.
type Filter struct {
	Tenant    string
	Principal string
	Action    string // prefix match
	From, To  time.Time
	Limit     int
	Offset    int
}

// Store persists entries.
type Store interface {
	InsertAudit(ctx context.Context, es []Entry) error
	QueryAudit(ctx context.Context, f Filter) ([]Entry, int, error)
}

// Log queues entries for the writer goroutine.
type Log struct {
	st   Store
	log  *slog.Logger
	ch   chan Entry
	done chan struct{}

	mu     sync.RWMutex // orders Record against Close
	closed bool
}

// Start begins writing; Close drains and stops.
func Start(st Store, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{st: st, log: logger.With("component", "audit"), ch: make(chan Entry, 1<<12), done: make(chan struct{})}
	go l.run()
	return l
}

// Record queues an entry. If the writer is hopelessly behind the entry
// goes to the process log instead, so it is never silently lost.
func (l *Log) Record(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.log.Warn("audit entry after close; logged here only", "tenant", e.Tenant, "principal", e.Principal,
			"remote", e.Remote, "action", e.Action, "status", e.Status)
		return
	}
	select {
	case l.ch <- e:
	default:
		l.log.Error("audit queue full; entry logged here only", "tenant", e.Tenant, "principal", e.Principal,
			"remote", e.Remote, "action", e.Action, "target", e.Target, "status", e.Status, "reason", e.Reason)
	}
}

func (l *Log) run() {
	defer close(l.done)
	for e := range l.ch {
		batch := []Entry{e}
	more:
		for len(batch) < 256 {
			select {
			case e, ok := <-l.ch:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := l.st.InsertAudit(ctx, batch); err != nil {
			for _, e := range batch {
				l.log.Error("audit write failed; entry logged here", "err", err, "tenant", e.Tenant, "principal", e.Principal,
					"remote", e.Remote, "action", e.Action, "status", e.Status)
			}
		}
		cancel()
	}
}

// Query reads entries.
func (l *Log) Query(ctx context.Context, f Filter) ([]Entry, int, error) {
	return l.st.QueryAudit(ctx, f)
}

// Close writes what is queued and stops; later entries go to the process
// log.
func (l *Log) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	l.mu.Unlock()
	<-l.done
}
