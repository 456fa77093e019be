package dialect

import (
	"context"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// CDRSearcher answers structured CDR searches (pbx.CDRSearch): what
// monitor-style dialects (VoIPmonitor's filter form) need beyond
// CDRReader's simple filter. A dialect that needs it type-asserts
// Deps.CDRs; the SQLite store is one.
type CDRSearcher interface {
	SearchCDRs(ctx context.Context, q pbx.CDRSearch) ([]pbx.CDR, error)
	CountCDRs(ctx context.Context, q pbx.CDRSearch) (int64, error)
	GroupCDRs(ctx context.Context, q pbx.CDRSearch, by pbx.CDRField) ([]pbx.CDRGroup, error)
}
