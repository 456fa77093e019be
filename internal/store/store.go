// Package store holds the storage interfaces switchboard's services
// consume, with their sentinel errors. Backends live in subpackages
// (sqlite today, postgres with scale-out) and all run storetest's
// conformance suite. Anything may import store.
package store

import (
	"context"
	"errors"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var (
	// ErrNotFound is returned when a row does not exist (in that tenant).
	ErrNotFound = errors.New("store: not found")
	// ErrInvalidFilter is returned for filters no backend can answer.
	ErrInvalidFilter = errors.New("store: invalid filter")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store: closed")
	// ErrConflict is returned when a unique key (a recording's file name)
	// is taken.
	ErrConflict = errors.New("store: already exists")
)

// Paging limits shared by every backend.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// CDRStore keeps call detail records.
type CDRStore interface {
	// InsertCDR returns only once the row is durable (it survives a kill -9
	// of the process right after the call returns) and sets c.ID.
	InsertCDR(ctx context.Context, c *pbx.CDR) error
	// QueryCDRs returns the page selected by f and the number of rows
	// matching f regardless of paging.
	QueryCDRs(ctx context.Context, f pbx.CDRFilter) ([]pbx.CDR, int, error)
	// GetCDR returns one CDR of a tenant, or ErrNotFound.
	GetCDR(ctx context.Context, tenant string, id int64) (pbx.CDR, error)
	Close() error
}

// NormalizeFilter applies the paging defaults and rejects what no backend
// can answer, so every backend behaves the same.
func NormalizeFilter(f pbx.CDRFilter) (pbx.CDRFilter, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return f, errors.Join(ErrInvalidFilter, errors.New("negative limit or offset"))
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit > MaxLimit {
		f.Limit = MaxLimit
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, errors.Join(ErrInvalidFilter, errors.New("'to' is before 'from'"))
	}
	return f, nil
}

// QueueLogStore keeps the queue log and answers statistics from it.
type QueueLogStore interface {
	pbx.QueueLogger
	QueueStats(ctx context.Context, f pbx.QueueStatsFilter) ([]pbx.QueueStats, error)
	AgentStats(ctx context.Context, f pbx.QueueStatsFilter) ([]pbx.AgentStats, error)
}
