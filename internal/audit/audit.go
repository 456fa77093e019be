// Package audit keeps the durable record of who did what through the APIs:
// every state-changing request and every access to recordings and
// captures, with the caller's address, the outcome and the client's
// optional reason. Entries are written in order by one goroutine in
// batches, so recording them never slows a request down.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/batch"
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

// Log queues entries for the batch writer.
type Log struct {
	st  Store
	log *slog.Logger
	w   *batch.Writer[Entry]
}

// Start begins writing; Close drains and stops.
func Start(st Store, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{st: st, log: logger.With("component", "audit")}
	l.w = batch.Start(batch.Options[Entry]{Queue: 1 << 12, MaxBatch: 256, Write: st.InsertAudit,
		OnError: func(es []Entry, err error) {
			for _, e := range es {
				l.log.Error("audit write failed; entry logged here", "err", err, "tenant", e.Tenant, "principal", e.Principal,
					"remote", e.Remote, "action", e.Action, "status", e.Status)
			}
		}})
	return l
}

// Record queues an entry. If the writer is hopelessly behind, or closed,
// the entry goes to the process log instead, so it is never silently lost.
func (l *Log) Record(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if !l.w.Add(e) {
		l.log.Error("audit entry not queued (queue full or closed); logged here only", "tenant", e.Tenant, "principal", e.Principal,
			"remote", e.Remote, "action", e.Action, "target", e.Target, "status", e.Status, "reason", e.Reason)
	}
}

// Query reads entries.
func (l *Log) Query(ctx context.Context, f Filter) ([]Entry, int, error) {
	return l.st.QueryAudit(ctx, f)
}

// Close writes what is queued and stops; later entries go to the process
// log.
func (l *Log) Close() { l.w.Close() }
