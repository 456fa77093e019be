package native

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// Name is the dialect's config key.
const Name = "native"

var _ dialect.Dialect = (*API)(nil)

// NewDialect builds the native API from the dependencies every dialect
// gets; it is the node's factory for the "native" dialect.
func NewDialect(d dialect.Deps) (dialect.Dialect, error) {
	if d.Service == nil || d.Gate == nil || d.Events == nil || d.CDRs == nil {
		return nil, errors.New("native: service, gate, events and CDRs are required")
	}
	if err := d.Options.Unknown(); err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api := newAPI(d.Service, d.Events, d.CDRs, *d.Gate, log)
	api.live = d.Events
	api.qstats = d.QueueStats
	api.arts = d.Artifacts
	api.acc = d.Accounts
	api.audit = d.Audit
	api.hooks = d.Webhooks
	api.conns.max = d.StreamsPerPrincipal
	return api, nil
}

// Name implements dialect.Dialect.
func (a *API) Name() string { return Name }

// Routes implements dialect.Dialect: everything under /api/.
func (a *API) Routes() []string { return []string{"/api/"} }

// Close implements dialect.Dialect. Event streams end with their request
// contexts when the HTTP server shuts down.
func (a *API) Close(context.Context) error { return nil }

var _ http.Handler = (*API)(nil).Handler()
