package webtapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Name is the dialect's config key.
const Name = "webtapi"

// Path is the one script the spec defines.
const Path = "/webtapi/webtapi.php"

// API serves the WebTAPI dialect.
type API struct {
	d       dialect.Deps
	log     *slog.Logger
	now     func() time.Time
	actions map[string]action

	// ctx ends camera streams when the dialect closes; streams counts
	// them so Close can wait.
	ctx     context.Context
	cancel  context.CancelFunc
	streams sync.WaitGroup
}

var _ dialect.Dialect = (*API)(nil)

// NewDialect builds the dialect from its dependencies; it is the node's
// factory for "webtapi".
func NewDialect(d dialect.Deps) (dialect.Dialect, error) { return New(d) }

// New is NewDialect with the concrete type.
func New(d dialect.Deps) (*API, error) {
	if d.Service == nil || d.Gate == nil {
		return nil, errors.New("webtapi: service and gate are required")
	}
	if err := d.Options.Unknown(); err != nil {
		return nil, fmt.Errorf("webtapi: %w", err)
	}
	a := &API{d: d, log: d.Logger, now: d.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.actions = a.table()
	return a, nil
}

// Name implements dialect.Dialect.
func (a *API) Name() string { return Name }

// Routes implements dialect.Dialect: the script, for every method (other
// methods than GET and POST, HEAD included since every action acts, are
// answered "0" by the handler).
func (a *API) Routes() []string { return []string{Path} }

// Handler implements dialect.Dialect.
func (a *API) Handler() http.Handler { return http.HandlerFunc(a.serve) }

// Close ends the camera streams and waits for them (bounded by ctx).
func (a *API) Close(ctx context.Context) error {
	a.cancel()
	return dialect.WaitStreams(ctx, &a.streams, "webtapi: camera streams")
}

// call is one request being answered.
type call struct {
	a   *API
	w   http.ResponseWriter
	r   *http.Request
	p   auth.Principal
	req request
	// target names what the action acted on, for the audit log.
	target string
	// wrote: the action answered itself (bytes, a stream).
	wrote bool
}

// text answers a plain-text reply.
func (c *call) text(s string) {
	c.wrote = true
	writeText(c.w, s)
}

// action is one WebTAPI command.
type action struct {
	run func(c *call) error
	// audit: the action changes state or reads something sensitive; its
	// every outcome goes to the audit log (refusals always do).
	audit bool
}

// serve answers every request to the script: parse, authenticate,
// dispatch, and map any failure to "0" through errorCode.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("handler panic", "panic", fmt.Sprint(v))
			a.fail(w, fmt.Errorf("panic: %v", v))
		}
	}()
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		a.fail(w, fmt.Errorf("method %s: %w", r.Method, errParam))
		return
	}
	req, err := readRequest(w, r)
	if err != nil {
		a.fail(w, err)
		return
	}
	if req.action == "login" {
		a.login(w, r, req)
		return
	}
	c := &call{a: a, w: w, r: r, req: req}
	act, known := a.actions[req.action]
	// The session is checked before the action is looked up, so an
	// anonymous client learns nothing about which actions exist. An
	// unknown SID is not counted as a failed login of the address: ids
	// are 256 random bits nobody guesses, while WebTAPI clients poll
	// (call_list_all every second) and keep sending a session that
	// expired until they see 0, which would otherwise lock their own
	// address out of the login they need next
	// (TestWebTAPIStaleSessionDoesNotLockOut).
	p, _, err := a.d.Gate.Check(r.Context(), dialect.Presented{SessionID: req.sid, IP: dialect.RemoteIP(r)})
	if req.sid == "" && err == nil {
		err = auth.ErrBadCredentials
	}
	if err != nil {
		a.finish(c, act.audit || known, fmt.Errorf("session: %w", err))
		return
	}
	c.p = p
	if req.action == "logout" {
		a.d.Gate.EndSession(req.sid)
		c.text(replyOK)
		a.finish(c, false, nil)
		return
	}
	if !known {
		a.finish(c, true, fmt.Errorf("action %q: %w", clip(req.action), errUnknownAction))
		return
	}
	a.finish(c, act.audit, act.run(c))
}

// finish answers "0" for an error (unless the action already answered),
// and audits the request: every refusal and every outcome of audited
// actions.
func (a *API) finish(c *call, audited bool, err error) {
	status, reason := http.StatusOK, ""
	if err != nil {
		code, st := errorCode(err)
		status, reason = st, code
		if st >= 500 && st != http.StatusNotImplemented {
			a.log.Error("action failed", "action", clip(c.req.action), "principal", c.p.Name, "err", err)
		} else {
			a.log.Info("action refused", "action", clip(c.req.action), "principal", c.p.Name, "code", code, "err", err)
		}
		if !c.wrote {
			a.fail(c.w, err)
		}
	}
	if audited || err != nil {
		action := c.req.action
		if _, ok := a.actions[action]; !ok && action != "logout" {
			action = "unknown"
		}
		a.d.AuditRequest(c.r, c.p, Name, action, c.target, status, reason)
	}
}

// fail answers "0", with the error's code in X-Webtapi-Error and, for a
// lockout, Retry-After.
func (a *API) fail(w http.ResponseWriter, err error) {
	code, _ := errorCode(err)
	w.Header().Set("X-Webtapi-Error", code)
	if code == codeLocked {
		if s := auth.RetryAfterSeconds(err); s > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(s))
		}
	}
	writeText(w, replyFail)
}

// writeText answers text/plain with status 200, as the PHP script did.
func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(s))
}

// login is action=login: POST only, AUTH[user] and AUTH[pass] from the
// body; the session id as plain text, or "0" for any failure (a GET login
// included, whatever it carries: the spec forbids passwords in URLs).
func (a *API) login(w http.ResponseWriter, r *http.Request, req request) {
	ip := dialect.RemoteIP(r)
	name := req.user
	if !req.post {
		a.log.Warn("login by GET refused", "remote", ip.String())
		a.fail(w, fmt.Errorf("login by %s: %w", r.Method, errParam))
		return
	}
	if req.user == "" || req.pass == "" {
		a.fail(w, fmt.Errorf("login without AUTH[user] and AUTH[pass]: %w", errParam))
		return
	}
	p, err := a.d.Gate.Login(r.Context(), "", req.user, req.pass, ip)
	if err != nil {
		code, st := errorCode(err)
		a.log.Info("login refused", "account", dialect.LogName(name), "remote", ip.String(), "code", code)
		a.d.AuditRequest(r, auth.Principal{Name: dialect.LogName(name)}, Name, "login", "", st, code)
		a.fail(w, err)
		return
	}
	sid, _, ok := a.d.Gate.StartSession(r.Context(), p)
	if !ok {
		a.fail(w, fmt.Errorf("sessions are off: %w", pbx.ErrNotSupported))
		return
	}
	a.d.AuditRequest(r, p, Name, "login", "", http.StatusOK, "")
	writeText(w, sid)
}

// mergeDone is a context of parent that also ends when other does.
func mergeDone(parent, other context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(other, cancel)
	return ctx, func() { stop(); cancel() }
}
