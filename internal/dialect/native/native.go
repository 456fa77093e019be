// Package native is switchboard's own REST + WebSocket API under /api/v1,
// described by the OpenAPI document it serves. Like every dialect it
// translates between its wire format and the domain core; it imports pbx,
// store, auth and eventbus, never another dialect or an engine.
package native

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// Core is what New needs of the domain core (*pbx.Core): the service
// facade's core and the live event stream.
type Core interface {
	dialect.Core
	dialect.Subscriber
}

// CDRReader is what the API needs of the CDR store.
type CDRReader = dialect.CDRReader

// Authenticator checks credentials: auth.Directory's one login path
// (lockout, hash pool, tenant parsing) shared by every dialect.
type Authenticator = dialect.Authenticator

var (
	_ Core          = (*pbx.Core)(nil)
	_ Authenticator = (*auth.Directory)(nil)
)

//go:embed openapi.json
var openapiDoc embed.FS

// maxBody bounds request bodies.
const maxBody = 1 << 20

// eventBuffer is how many events a WebSocket client may fall behind before
// it is cut off.
const eventBuffer = 1024

// API serves the native API.
type API struct {
	live   dialect.Subscriber
	stream dialect.Events
	svc    *dialect.Service
	arts   dialect.Artifacts // nil: recordings and captures cannot be served
	cdrs   CDRReader
	gate   dialect.Gate
	log    *slog.Logger
	mux    *http.ServeMux
	// qstats is the CDR store's queue statistics, when it has them.
	qstats  QueueStatsReader
	hooks   Webhooks
	audit   *audit.Log
	acc     auth.Accounts
	wire    wireCache
	conns   connCounter
	paths   []string // registered patterns, for the OpenAPI completeness test
	routes  []route
	docOnce sync.Once
	doc     []byte
	docErr  error
}

// New builds the API over a core directly (tests, and tools without a
// node); the node builds it with NewDialect.
func New(core Core, cdrs CDRReader, a Authenticator, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gate := dialect.Gate{Auth: a}
	if d, ok := a.(interface{ Limiter() *auth.Limiter }); ok {
		gate.Limiter = d.Limiter() // keys from a locked-out address are refused too
	}
	api := newAPI(dialect.NewService(core), dialect.NewEvents(core, nil), cdrs, gate, log)
	api.live = core
	api.qstats, _ = cdrs.(QueueStatsReader)
	return api
}

func newAPI(svc *dialect.Service, stream dialect.Events, cdrs CDRReader, gate dialect.Gate, log *slog.Logger) *API {
	api := &API{stream: stream, svc: svc, cdrs: cdrs, gate: gate, log: log.With("component", "native_api"), mux: http.NewServeMux()}
	api.handle("GET /api/v1/openapi.json", "", api.openapi)
	api.handle("GET /api/v1/extensions", auth.ReadDirectory, api.listExtensions)
	api.handle("GET /api/v1/extensions/{number}", auth.ReadDirectory, api.getExtension)
	api.handle("GET /api/v1/calls", auth.ReadCalls, api.listCalls)
	api.handle("POST /api/v1/calls", auth.ControlCalls, api.originate)
	api.handle("DELETE /api/v1/calls/{id}", auth.ControlCalls, api.hangup)
	api.handle("GET /api/v1/calls/{id}/dossier", auth.ReadCalls, api.callDossier)
	api.handle("POST /api/v1/channels/{id}/dtmf", auth.ControlCalls, api.playDTMF)
	api.handle("POST /api/v1/channels/{id}/redirect", auth.ControlCalls, api.redirect)
	api.handle("POST /api/v1/channels/{id}/pickup", auth.ControlCalls, api.pickup)
	api.handle("POST /api/v1/channels/{id}/monitor", auth.ListenCalls, api.monitor)
	api.handle("GET /api/v1/queues", auth.ReadCalls, api.listQueues)
	api.handle("GET /api/v1/queues/stats", auth.ReadCDRs, api.queueStats)
	api.handle("GET /api/v1/queues/{name}/calls", auth.ReadCalls, api.queueCalls)
	api.handle("POST /api/v1/queues/{name}/calls/{id}/position", auth.SuperviseQueues, api.shiftCaller)
	api.handle("DELETE /api/v1/queues/{name}/calls/{id}", auth.SuperviseQueues, api.removeCaller)
	api.handle("POST /api/v1/queues/{name}/members", auth.ReadCalls, api.addMember)
	api.handle("DELETE /api/v1/queues/{name}/members/{number}", auth.ReadCalls, api.removeMember)
	api.handle("POST /api/v1/queues/{name}/members/{number}/pause", auth.ReadCalls, api.pauseMember)
	api.handle("GET /api/v1/audit", auth.Admin, api.queryAudit)
	api.handle("POST /api/v1/sessions", "", api.login)
	api.handle("DELETE /api/v1/sessions/current", auth.ReadDirectory, api.logout)
	api.handle("GET /api/v1/sessions/current", auth.ReadDirectory, api.whoami)
	api.handle("POST /api/v1/keys", auth.Admin, api.createKey)
	api.handle("GET /api/v1/keys", auth.Admin, api.listKeys)
	api.handle("DELETE /api/v1/keys/{id}", auth.Admin, api.revokeKey)
	api.handle("POST /api/v1/users", auth.Admin, api.createUser)
	api.handle("GET /api/v1/users", auth.Admin, api.listUsers)
	api.handle("PUT /api/v1/users/{name}/password", auth.ReadDirectory, api.setPassword)
	api.handle("PUT /api/v1/users/{name}/disabled", auth.Admin, api.setDisabled)
	api.handle("GET /api/v1/webhooks/dead", auth.Admin, api.deadLetters)
	api.handle("POST /api/v1/webhooks/dead/{id}/retry", auth.Admin, api.retryDeadLetter)
	api.handle("GET /api/v1/relays", auth.ReadDirectory, api.listRelays)
	api.handle("GET /api/v1/relays/{id}", auth.ReadDirectory, api.getRelay)
	api.handle("PUT /api/v1/relays/{id}", auth.SwitchRelays, api.setRelay)
	api.handle("GET /api/v1/cameras", auth.ViewCameras, api.listCameras)
	api.handle("GET /api/v1/cameras/{id}/snapshot", auth.ViewCameras, api.cameraSnapshot)
	api.handle("GET /api/v1/cameras/{id}/stream", auth.ViewCameras, api.cameraStream)
	api.handle("POST /api/v1/cameras/{id}/recording", auth.ViewCameras, api.startCameraRecording)
	api.handle("DELETE /api/v1/cameras/{id}/recording", auth.ViewCameras, api.stopCameraRecording)
	api.handle("POST /api/v1/cameras/{id}/pictures", auth.ViewCameras, api.saveCameraPicture)
	api.handle("GET /api/v1/camera-files", auth.ViewCameras, api.listCameraFiles)
	api.handle("GET /api/v1/camera-files/{name}", auth.ViewCameras, api.cameraFile)
	api.handle("POST /api/v1/sms", auth.SendSMS, api.sendSMS)
	api.handle("GET /api/v1/sms", auth.ReadSMS, api.listSMS)
	api.handle("GET /api/v1/sms/{id}", auth.ReadSMS, api.getSMS)
	api.handle("GET /api/v1/conferences", auth.ReadCalls, api.listConferences)
	api.handle("POST /api/v1/conferences", auth.ControlCalls, api.createConference)
	api.handle("POST /api/v1/conferences/{name}/members", auth.ControlCalls, api.inviteToConference)
	api.handle("DELETE /api/v1/conferences/{name}/members/{channel}", auth.ControlCalls, api.kickFromConference)
	api.handle("GET /api/v1/cdrs", auth.ReadCDRs, api.listCDRs)
	api.handle("GET /api/v1/cdrs/{id}", auth.ReadCDRs, api.getCDR)
	api.handle("GET /api/v1/cdrs/{id}/pcap", auth.ReadPCAP, api.cdrPCAP)
	api.handle("GET /api/v1/cdrs/{id}/sip", auth.ReadPCAP, api.cdrSIP)
	api.handle("GET /api/v1/events", auth.ReadEvents, api.events)
	api.handle("POST /api/v1/recordings", auth.Record, api.startRecording)
	for _, action := range []string{"stop", "pause", "resume"} {
		api.handle("POST /api/v1/recordings/{id}/"+action, auth.Record, api.recordingAction(action))
	}
	api.handle("GET /api/v1/recordings", auth.ReadRecordings, api.listRecordings)
	api.handle("GET /api/v1/recordings/{id}", auth.ReadRecordings, api.getRecording)
	api.handle("GET /api/v1/recordings/{id}/audio", auth.DownloadRecordings, api.recordingAudio)
	return api
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal)

// route is one registration: the source the OpenAPI document is built from.
type route struct {
	pattern, right string
}

func (a *API) handle(pattern, right string, h handlerFunc) {
	a.paths = append(a.paths, pattern)
	a.routes = append(a.routes, route{pattern, right})
	audited := auditedRoute(pattern)
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		if audited && a.audit != nil {
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			w = sw
			defer func() {
				a.audit.Record(audit.Entry{Tenant: p.Tenant, Principal: p.Name, Role: p.Role, APIKey: p.APIKey,
					Remote: remoteIP(r).String(), Dialect: "native", Action: pattern, Target: r.URL.Path,
					Status: sw.status, Reason: auditReason(r)})
			}()
		}
		defer func() {
			if v := recover(); v != nil {
				a.log.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		if right != "" {
			var ok bool
			if p, ok = a.authenticate(w, r); !ok {
				return
			}
			if !p.Can(right) {
				writeError(w, http.StatusForbidden, "forbidden", "your role may not do this")
				return
			}
		}
		h(w, r, p)
	})
}

// auditedRoute: every state-changing request, every access to
// recordings, captures and the audit log itself.
func auditedRoute(pattern string) bool {
	method, path, _ := strings.Cut(pattern, " ")
	return method != http.MethodGet || strings.Contains(path, "/recordings") || strings.HasPrefix(path, "/api/v1/camera-files/") || strings.HasSuffix(path, "/pcap") ||
		strings.HasSuffix(path, "/sip") || strings.HasPrefix(path, "/api/v1/audit")
}

// auditReason is the client's stated reason (query auditReason or header
// X-Audit-Reason), bounded and stripped of control characters.
func auditReason(r *http.Request) string {
	v := r.URL.Query().Get("auditReason")
	if v == "" {
		v = r.Header.Get("X-Audit-Reason")
	}
	v = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, v)
	if len(v) > 256 {
		v = v[:256]
	}
	return v
}

// statusWriter remembers the status a handler wrote, for the audit log.
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

// Handler is the API's http.Handler. Requests no route matches get the
// mux's 404 or 405 status, rendered as our JSON error.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := a.mux.Handler(r)
		if pattern != "" {
			a.mux.ServeHTTP(w, r) // sets the path values
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		if rec.status == http.StatusMethodNotAllowed {
			writeError(w, rec.status, "method_not_allowed", "method not allowed on this endpoint")
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
}

// statusRecorder captures what the mux's built-in error handlers write.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }

// SetLimiter sets the failed-login limiter; it is handed to the
// Authenticator too (when it takes one), so password logins and key
// refusals count in the same limiter.
func (a *API) SetLimiter(l *auth.Limiter) {
	a.gate.Limiter = l
	if d, ok := a.gate.Auth.(interface{ SetLimiter(*auth.Limiter) }); ok {
		d.SetLimiter(l)
	}
}

// remoteIP is the connection's address (no proxy headers are trusted).
func remoteIP(r *http.Request) netip.Addr { return dialect.RemoteIP(r) }

// authenticate reads the native API's credentials (Authorization: Basic,
// Bearer or Session; the session cookie) through the shared gate and
// answers failures itself.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	if crossSiteCookie(r) {
		writeError(w, http.StatusForbidden, "cross_origin", "a session cookie is not accepted from another origin: send Authorization: Session <id>")
		return auth.Principal{}, false
	}
	p, account, err := a.gate.Check(r.Context(), dialect.Presented{Authorization: r.Header.Get("Authorization"),
		SessionID: sessionCookieValue(r), IP: remoteIP(r)})
	if err != nil {
		if errors.Is(err, auth.ErrBadCredentials) { // every 401, ambiguous names included
			w.Header().Set("WWW-Authenticate", `Basic realm="switchboard"`)
		}
		a.loginError(w, r, err, account, "missing or bad credentials")
		return p, false
	}
	return p, true
}

// errorStatus maps domain and store errors to HTTP; one table test pins it.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, pbx.ErrNotFound), errors.Is(err, store.ErrNotFound), errors.Is(err, pbx.ErrUnknownExten):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, pbx.ErrInvalidArgument), errors.Is(err, store.ErrInvalidFilter):
		return http.StatusBadRequest, "invalid_argument"
	case errors.Is(err, pbx.ErrUnavailable):
		return http.StatusConflict, "unavailable"
	case errors.Is(err, pbx.ErrBusy):
		return http.StatusConflict, "busy"
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, pbx.ErrNotSupported):
		return http.StatusNotImplemented, "not_supported"
	case errors.Is(err, dialect.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, dialect.ErrDevice):
		return http.StatusBadGateway, "device_error"
	case errors.Is(err, pbx.ErrLimit):
		return http.StatusTooManyRequests, "limit_exceeded"
	case errors.Is(err, dialect.ErrKeyReused):
		return http.StatusUnprocessableEntity, "idempotency_key_reused"
	case errors.Is(err, dialect.ErrKeyInFlight):
		return http.StatusConflict, "idempotency_in_progress"
	case errors.Is(err, pbx.ErrShuttingDown):
		return http.StatusServiceUnavailable, "shutting_down"
	case errors.Is(err, pbx.ErrUnknownTenant):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout"
	}
	return http.StatusInternalServerError, "internal"
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		a.log.Error("api error", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	writeError(w, status, code, msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) openapi(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	a.docOnce.Do(func() { a.doc, a.docErr = a.buildOpenAPI() })
	if a.docErr != nil {
		a.fail(w, r, a.docErr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.doc)
}

// buildOpenAPI serves the document generated from the route table: the
// operations and the right each needs come from the registrations (the
// code), their prose and schemas from openapi.json. An operation the code
// does not serve is left out, and one it serves without prose still
// appears, marked undocumented, so the document can never claim what the
// server does not do.
func (a *API) buildOpenAPI() ([]byte, error) {
	raw, err := openapiDoc.ReadFile("openapi.json")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	prose, _ := doc["paths"].(map[string]any)
	paths := map[string]any{}
	for _, rt := range a.routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		m := strings.ToLower(method)
		var op map[string]any
		if ops, ok := prose[path].(map[string]any); ok {
			op, _ = ops[m].(map[string]any)
		}
		if op == nil {
			op = map[string]any{"summary": "(undocumented)", "responses": map[string]any{"200": map[string]any{"description": "OK"}}}
		}
		if rt.right != "" {
			op["x-required-right"] = rt.right
			if resp, ok := op["responses"].(map[string]any); ok {
				for _, code := range []string{"401", "403"} {
					if _, ok := resp[code]; !ok {
						resp[code] = map[string]any{"$ref": "#/components/responses/Error"}
					}
				}
			}
		} else {
			op["security"] = []any{}
		}
		ops, _ := paths[path].(map[string]any)
		if ops == nil {
			ops = map[string]any{}
			paths[path] = ops
		}
		ops[m] = op
	}
	doc["paths"] = paths
	return json.MarshalIndent(doc, "", "  ")
}

// extension is the wire form of an extension.
type extension struct {
	Number     string `json:"number"`
	Name       string `json:"name"`
	State      int    `json:"state"`
	StateText  string `json:"state_text"`
	Registered bool   `json:"registered"`
}

func toExtension(x pbx.Extension) extension {
	return extension{Number: x.Number, Name: x.Name, State: int(x.State), StateText: x.State.String(), Registered: x.Registered}
}

func (a *API) listExtensions(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	xs, err := a.svc.Extensions(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]extension, len(xs))
	for i, x := range xs {
		out[i] = toExtension(x)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getExtension(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	x, err := a.svc.Extension(p, r.PathValue("number"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toExtension(x))
}

func (a *API) listCalls(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	calls, err := a.svc.Calls(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, each(calls, toWireCall))
}

type originateBody struct {
	From     string `json:"from"`
	To       string `json:"to"`
	CallerID string `json:"caller_id"`
	// OutboundCallerID is presented to "to" (and a carrier) instead of
	// "from": one of the numbers configured for the account or tenant.
	OutboundCallerID string `json:"outbound_caller_id"`
	Timeout          int    `json:"timeout"` // seconds each party may ring
	// Priority first ends every call of `to` (WebTAPI call_prio).
	Priority bool `json:"priority"`
	// ClientID is the idempotency key for clients that cannot set the
	// Idempotency-Key header; the header wins when both are given.
	ClientID string `json:"client_id"`
}

// fingerprint is what a reused idempotency key must be sent with again.
func (b originateBody) fingerprint() string {
	return dialect.Fingerprint(b.From, b.To, b.CallerID, b.OutboundCallerID, strconv.Itoa(b.Timeout), strconv.FormatBool(b.Priority))
}

// originate is click-to-call. With an idempotency key (the
// Idempotency-Key header or client_id) a retried request returns the
// first one's call (201 first, 200 after, the same body) and never rings
// twice, for 24 hours and across restarts.
func (a *API) originate(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body originateBody
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "body: "+err.Error())
		return
	}
	if body.Timeout < 0 || body.Timeout > 300 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "timeout must be 0-300 seconds")
		return
	}
	key := body.ClientID
	if h, ok := r.Header["Idempotency-Key"]; ok {
		if len(h) != 1 {
			writeError(w, http.StatusBadRequest, "invalid_argument", "one Idempotency-Key header at most")
			return
		}
		key = h[0]
	}
	req := pbx.OriginateRequest{From: body.From, To: body.To, CallerID: body.CallerID, OutboundCallerID: body.OutboundCallerID,
		RingTimeout: time.Duration(body.Timeout) * time.Second}
	do := func(ctx context.Context) ([]byte, error) {
		call, err := a.svc.Originate(ctx, p, req, body.Priority)
		if err != nil {
			return nil, err
		}
		return json.Marshal(toWireCall(call))
	}
	if key == "" {
		b, err := do(r.Context())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeRaw(w, http.StatusCreated, b)
		return
	}
	b, replayed, err := a.svc.Once(r.Context(), p, Name, key, body.fingerprint(), do)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		writeRaw(w, http.StatusOK, b)
		return
	}
	writeRaw(w, http.StatusCreated, b)
}

// writeRaw sends an already encoded JSON body, ending in a newline like
// writeJSON's.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (a *API) hangup(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if err := a.svc.Hangup(r.Context(), p, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) playDTMF(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Digits string `json:"digits"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "body: "+err.Error())
		return
	}
	if err := a.svc.PlayDTMF(r.Context(), p, r.PathValue("id"), body.Digits); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) redirect(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		To string `json:"to"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "body: "+err.Error())
		return
	}
	if err := a.svc.Redirect(r.Context(), p, r.PathValue("id"), body.To); err != nil {
		a.fail(w, r, err)
		return
	}
	// The transfer proceeds asynchronously; call.transferred and the new
	// channel's events tell how it goes.
	w.WriteHeader(http.StatusAccepted)
}

func (a *API) pickup(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		By string `json:"by"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "body: "+err.Error())
		return
	}
	if err := a.svc.Pickup(r.Context(), p, r.PathValue("id"), body.By); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// parseCDRQuery reads the CDR filter from a query string.
func parseCDRQuery(q map[string][]string, tenant string) (pbx.CDRFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := pbx.CDRFilter{Tenant: tenant, Number: get("number"), Src: get("src"), Dst: get("dst"), UniqueID: get("uniqueid"), CallID: get("call_id"), Descending: true}
	var err error
	if f.From, err = parseTime(get("from")); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.To, err = parseTime(get("to")); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	if d := get("disposition"); d != "" {
		switch pbx.Disposition(strings.ToUpper(d)) {
		case pbx.DispAnswered, pbx.DispNoAnswer, pbx.DispBusy, pbx.DispFailed:
			f.Disposition = pbx.Disposition(strings.ToUpper(d))
		default:
			return f, fmt.Errorf("disposition %q is not ANSWERED, NO ANSWER, BUSY or FAILED", d)
		}
	}
	for _, k := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := get(k.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, fmt.Errorf("%s %q is not a non-negative integer", k.name, v)
			}
			*k.dst = n
		}
	}
	switch get("order") {
	case "", "desc":
	case "asc":
		f.Descending = false
	default:
		return f, errors.New("order must be asc or desc")
	}
	for _, s := range []string{f.Number, f.Src, f.Dst, f.UniqueID} {
		if len(s) > 64 {
			return f, errors.New("filter value longer than 64 characters")
		}
	}
	if len(f.CallID) > 256 { // Call-IDs are longer than numbers
		return f, errors.New("call_id longer than 256 characters")
	}
	return f, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
}

func (a *API) listCDRs(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	f, err := parseCDRQuery(r.URL.Query(), p.Tenant)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	rows, total, err := a.cdrs.QueryCDRs(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	norm, _ := store.NormalizeFilter(f)
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "limit": norm.Limit, "offset": norm.Offset, "cdrs": each(rows, toWireCDR)})
}

func (a *API) getCDR(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "id must be an integer")
		return
	}
	c, err := a.cdrs.GetCDR(r.Context(), p.Tenant, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireCDRWithSeries(c))
}

// EventLog replays a tenant's logged events.
type EventLog = dialect.Replayer

// SetEventLog enables since=N on the event stream.
func (a *API) SetEventLog(l EventLog) { a.stream = dialect.NewEvents(a.live, l) }

func (a *API) events(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var since uint64
	replay := false
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", "since must be the sequence number of the last event received")
			return
		}
		if !a.stream.CanReplay() {
			writeError(w, http.StatusNotImplemented, "not_supported", "no event log: since is not available")
			return
		}
		since, replay = n, true
	}
	release, ok := a.conns.acquire(p)
	if !ok {
		a.limitHit(w, "websocket connections", "too many event streams open for this account")
		return
	}
	defer release()
	filtered := dialect.EventsFiltered(p)
	// Subscribe before the handshake completes: a client may act the
	// moment its dial returns, and the events that causes must reach it.
	sub, upTo := a.stream.SubscribeAt(p.Tenant, eventBuffer)
	defer sub.Close()
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept wrote the error
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context()) // we only write; reads handle pings and close frames
	send := func(b []byte) error {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	last := upTo
	if replay {
		if since > upTo {
			// The client counts past us: our numbering restarted (the log
			// was lost). Tell it to resync rather than wait forever.
			b, _ := json.Marshal(map[string]any{"type": "replay.reset", "tenant": p.Tenant, "last_seq": upTo})
			if send(b) != nil {
				return
			}
		} else {
			var truncated uint64
			last, truncated, err = a.stream.Replay(ctx, p.Tenant, since, upTo, func(env eventbus.Envelope[pbx.Event]) error {
				if truncated != 0 {
					b, _ := json.Marshal(map[string]any{"type": "replay.truncated", "tenant": p.Tenant, "since": since, "oldest_seq": truncated})
					if err := send(b); err != nil {
						return err
					}
					truncated = 0
				}
				if b := a.encodeFor(p, filtered, env); b != nil {
					return send(b)
				}
				return nil
			})
			if err != nil {
				a.log.Warn("event replay failed", "tenant", p.Tenant, "since", since, "err", err)
				_ = conn.Close(websocket.StatusInternalError, "replay failed; reconnect")
				return
			}
		}
	}
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case env, ok := <-sub.C():
			if !ok {
				reason := "server closing"
				if errors.Is(sub.Err(), eventbus.ErrSlowConsumer) {
					reason = "too slow: event queue overflowed, reconnect with since=<last seq>"
				}
				_ = conn.Close(websocket.StatusTryAgainLater, reason)
				return
			}
			if env.Seq <= last {
				continue // already replayed
			}
			b := a.encodeFor(p, filtered, env)
			if b == nil {
				continue
			}
			if send(b) != nil {
				return
			}
		}
	}
}

// wireCache keeps the JSON of recent events: a thousand subscribers of a
// tenant receive the same event, and encoding it once instead of once per
// connection is most of the fan-out's cost.
type wireCache struct {
	mu    sync.Mutex
	m     map[wireKey][]byte
	order []wireKey
}

type wireKey struct {
	tenant string
	seq    uint64
}

const wireCacheSize = 4096

func (c *wireCache) get(env eventbus.Envelope[pbx.Event]) []byte {
	k := wireKey{env.Tenant, env.Seq}
	c.mu.Lock()
	if b, ok := c.m[k]; ok {
		c.mu.Unlock()
		return b
	}
	c.mu.Unlock()
	b := EncodeEvent(env.Seq, env.Tenant, env.Event)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[wireKey][]byte{}
	}
	if _, ok := c.m[k]; !ok {
		c.m[k] = b
		c.order = append(c.order, k)
		if len(c.order) > wireCacheSize {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	return b
}
