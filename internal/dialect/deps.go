package dialect

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/webhook"
)

// Dialect is one API dialect as the node runs it: the HTTP paths it
// serves (WebSocket upgrades included) and how it stops.
type Dialect interface {
	// Name is the dialect's key under dialects: in the config and its
	// name in the audit log.
	Name() string
	// Routes are the http.ServeMux patterns it serves: paths ("/cdr"),
	// subtrees ("/api/") or host-less method patterns. The node mounts
	// them on the shared listener (under the configured prefix) and on the
	// dialect's own listener when one is configured.
	Routes() []string
	Handler() http.Handler
	// Close ends the dialect's connections and goroutines.
	Close(ctx context.Context) error
}

// Factory builds a dialect from its dependencies.
type Factory func(Deps) (Dialect, error)

// Deps is everything a dialect is given: it reaches the rest of
// switchboard through these and nothing else.
type Deps struct {
	// Service: the core's commands and queries, permission-checked.
	Service *Service
	// Gate authenticates requests and runs logins and sessions.
	Gate *Gate
	// Events streams a tenant's events, live and replayed.
	Events Events
	// CDRs reads call detail records; QueueStats, when the store has
	// them, queue and agent statistics.
	CDRs       CDRReader
	QueueStats QueueStatsReader
	// Artifacts opens recordings and captures (nil: not kept).
	Artifacts Artifacts
	// Accounts manages database users and keys (nil: none).
	Accounts auth.Accounts
	// Audit records state changes and sensitive reads (nil: off).
	Audit *audit.Log
	// Webhooks lists and retries dead letters (nil: no webhooks).
	Webhooks Webhooks
	Logger   *slog.Logger
	Now      func() time.Time
	// StreamsPerPrincipal bounds event streams one account holds open
	// (0: the default; <0: none).
	StreamsPerPrincipal int
	// Panel is the path of the web operator panel's page ("/") on the
	// listener that serves the dialect, "" when that listener serves no
	// panel. A dialect may send browsers to the panel's documented views
	// (docs/panel.md, "Links into the panel"): the contract is the URL,
	// never an import.
	Panel string
	// Options are the dialect's own settings from the config file
	// (dialects.<name>.options; a copy per dialect). A dialect refuses
	// the ones it does not know (Options.Unknown).
	Options Options
}

// Events is the event stream of a tenant: a subscription whose first
// sequence number is known, and the replay of what was logged before it.
type Events interface {
	SubscribeAt(tenant string, buf int) (*eventbus.Subscription[pbx.Event], uint64)
	// Replay delivers the logged events since < seq <= upTo in order;
	// ErrNoReplay when no log is kept.
	Replay(ctx context.Context, tenant string, since, upTo uint64, fn func(eventbus.Envelope[pbx.Event]) error) (last uint64, truncatedFrom uint64, err error)
	// CanReplay reports whether a log is kept at all.
	CanReplay() bool
}

// CDRReader reads call detail records.
type CDRReader interface {
	QueryCDRs(ctx context.Context, f pbx.CDRFilter) ([]pbx.CDR, int, error)
	GetCDR(ctx context.Context, tenant string, id int64) (pbx.CDR, error)
}

// QueueStatsReader answers queue and agent statistics from the queue log.
type QueueStatsReader interface {
	QueueStats(ctx context.Context, f pbx.QueueStatsFilter) ([]pbx.QueueStats, error)
	AgentStats(ctx context.Context, f pbx.QueueStatsFilter) ([]pbx.AgentStats, error)
}

// Webhooks lists and retries undelivered webhook events.
type Webhooks interface {
	DeadLetters(ctx context.Context, tenant string, limit int) ([]webhook.DeadLetter, error)
	Retry(ctx context.Context, tenant string, id int64) error
}

// Artifacts is what dialects read of recordings and captures: opened
// files for ranged serving and the SIP ladder, never paths.
type Artifacts interface {
	OpenRecording(tenant, file string) (artifacts.File, error)
	OpenCapture(tenant, uniqueID string) (artifacts.File, error)
	SIPLadder(tenant, uniqueID string, withRaw bool) ([]capture.Message, error)
}

var _ Artifacts = (*artifacts.Store)(nil)

// AuditRequest records one request of a dialect in the audit log (a no-op
// without one): who, from where, which action on what, and the outcome.
func (d Deps) AuditRequest(r *http.Request, p auth.Principal, dialect, action, target string, status int, reason string) {
	if d.Audit == nil {
		return
	}
	d.Audit.Record(audit.Entry{Tenant: p.Tenant, Principal: p.Name, Role: p.Role, APIKey: p.APIKey,
		Remote: RemoteIP(r).String(), Dialect: dialect, Action: action, Target: target, Status: status, Reason: reason})
}
