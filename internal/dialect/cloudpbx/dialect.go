package cloudpbx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// Name is the dialect's config key.
const Name = "cloudpbx"

// The routes the spec defines. Unknown paths under them (GET /cdr/x) and
// other methods get the dialect's own 404 and 405.
var routes = []string{"/cdr", "/cdr/", "/record", "/record/", "/dial", "/dial/", "/sendSMS", "/sendSMS/", "/ws/"}

// API serves the CloudPBX dialect.
type API struct {
	d   dialect.Deps
	log *slog.Logger
	mux *http.ServeMux
	now func() time.Time

	// ctx ends the event streams when the dialect closes; streams counts
	// them so Close can wait.
	ctx     context.Context
	cancel  context.CancelFunc
	streams sync.WaitGroup
	conns   connCounter
}

var _ dialect.Dialect = (*API)(nil)

// NewDialect builds the dialect from its dependencies; it is the node's
// factory for "cloudpbx".
func NewDialect(d dialect.Deps) (dialect.Dialect, error) {
	return New(d)
}

// New is NewDialect with the concrete type (tests reach Close and the
// handler through it).
func New(d dialect.Deps) (*API, error) {
	if d.Service == nil || d.Gate == nil || d.Events == nil || d.CDRs == nil {
		return nil, errors.New("cloudpbx: service, gate, events and CDRs are required")
	}
	if err := d.Options.Unknown(); err != nil {
		return nil, fmt.Errorf("cloudpbx: %w", err)
	}
	a := &API{d: d, log: d.Logger, now: d.Now, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.conns.max = d.StreamsPerPrincipal
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.handle("GET /cdr", auth.ReadCDRs, a.listCDRs)
	a.handle("GET /record", auth.ReadRecordings, a.listRecordings)
	a.handle("GET /record/{uniqueid}", "", a.download) // the service checks play/download
	a.handle("GET /dial", "", a.dial)                  // the service checks calls.control
	a.handle("POST /sendSMS", auth.SendSMS, a.sendSMS)
	a.mux.HandleFunc("GET /ws/{channel}", a.guard(a.events))
	return a, nil
}

// Name implements dialect.Dialect.
func (a *API) Name() string { return Name }

// Routes implements dialect.Dialect.
func (a *API) Routes() []string { return routes }

// Close ends the event streams and waits for them (bounded by ctx).
func (a *API) Close(ctx context.Context) error {
	a.cancel()
	return dialect.WaitStreams(ctx, &a.streams, "cloudpbx: event streams")
}

// Handler implements dialect.Dialect: the mux, with the spec's plain-text
// 404 and 405 for paths and methods it does not serve.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := a.mux.Handler(r); pattern != "" {
			a.mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h, _ := a.mux.Handler(r)
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			if allow := rec.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			writeText(w, http.StatusMethodNotAllowed, msgMethodNotAllowed)
			return
		}
		writeText(w, http.StatusNotFound, msgNotFound)
	})
}

// statusRecorder captures what the mux's own 404/405 handlers decide.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }

type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal)

// handle registers a REST route: authenticated by the Bearer key, the
// right checked (when the service does not check it itself), audited, and
// never a panic to the client.
func (a *API) handle(pattern, right string, h handlerFunc) {
	a.mux.HandleFunc(pattern, a.guard(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		var p auth.Principal
		defer func() { a.d.AuditRequest(r, p, Name, pattern, r.URL.Path, sw.status, "") }()
		var err error
		if p, err = a.authenticate(r, r.Header.Get("Authorization")); err != nil {
			a.fail(sw, r, err)
			return
		}
		if right != "" && !p.Can(right) {
			a.fail(sw, r, fmt.Errorf("%s: %w", right, dialect.ErrForbidden))
			return
		}
		h(sw, r, p)
	}))
}

// guard turns a panic into a 500 and a log line.
func (a *API) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				a.log.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeText(w, http.StatusInternalServerError, msgInternal)
			}
		}()
		h(w, r)
	}
}

// authenticate checks a credential through the shared gate. The spec
// knows only "Authorization: Bearer KEY"; anything else (Basic, sessions)
// is refused here so the dialect's surface is what the spec says.
func (a *API) authenticate(r *http.Request, authorization string) (auth.Principal, error) {
	if !strings.HasPrefix(authorization, "Bearer ") || strings.TrimSpace(authorization[len("Bearer "):]) == "" {
		return auth.Principal{}, fmt.Errorf("no Bearer key: %w", auth.ErrBadCredentials)
	}
	p, _, err := a.d.Gate.Check(r.Context(), dialect.Presented{Authorization: authorization, IP: dialect.RemoteIP(r)})
	if err != nil {
		return p, fmt.Errorf("key: %w", err)
	}
	return p, nil
}

// fail answers an error through the one mapping; server-side failures are
// logged (never with credentials) and not shown.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err)
	if status == http.StatusTooManyRequests {
		if s := auth.RetryAfterSeconds(err); s > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(s))
		}
	}
	if status >= 500 {
		a.log.Error("request failed", "path", r.URL.Path, "status", status, "err", err)
	}
	writeText(w, status, msg)
}

// statusWriter remembers the status for the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}
