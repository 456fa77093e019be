package voipmonitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// Name is the dialect's config key.
const Name = "voipmonitor"

// The GUI's scripts the spec names, served for GET and POST alike.
const (
	pathSQL     = "/php/model/sql.php"
	pathAPI     = "/php/api.php"
	pathPCAP    = "/php/pcap.php"
	pathPCAP2   = "/php/pcap2text.php"
	pathLicense = "/php/apilicensecheck.php"
)

var routes = []string{pathSQL, pathUtilities, pathAPI, pathPCAP, pathPCAP2, pathLicense, pathShare, pathAdmin}

// vmVersion is the GUI version bypass_login reports (_vm_version): the
// spec's example value, so clients that gate features on it see the
// version the spec was written against.
const vmVersion = 240034

// maxBody bounds a request body (forms and JSON): the largest legitimate
// one is a filter form of a few kilobytes.
const maxBody = 1 << 20

// API serves the VoIPmonitor dialect.
type API struct {
	d        dialect.Deps
	cdrs     dialect.CDRSearcher
	log      *slog.Logger
	now      func() time.Time
	sensorID int
	// callsLimit is the concurrent-call limit licenseCallsLimitCheck
	// reports against (0: none).
	callsLimit int
	// shareKey signs share links, valid for shareTTL.
	shareKey []byte
	shareTTL time.Duration
	// reports are the named reports (option report_<name> → filter).
	reports map[string]url.Values
	// open, when set, is who requests without credentials act as
	// (VoIPmonitor's "disable authorization for API usage").
	open *auth.Principal
}

var _ dialect.Dialect = (*API)(nil)

// NewDialect builds the dialect from its dependencies; it is the node's
// factory for "voipmonitor".
func NewDialect(d dialect.Deps) (dialect.Dialect, error) { return New(d) }

// New is NewDialect with the concrete type.
func New(d dialect.Deps) (*API, error) {
	if d.Service == nil || d.Gate == nil || d.CDRs == nil {
		return nil, errors.New("voipmonitor: service, gate and CDRs are required")
	}
	cs, ok := d.CDRs.(dialect.CDRSearcher)
	if !ok {
		return nil, errors.New("voipmonitor: the CDR store cannot answer structured searches")
	}
	reports, reportNames, err := parseReports(d.Options)
	if err != nil {
		return nil, fmt.Errorf("voipmonitor: %w", err)
	}
	if err := d.Options.Unknown(append([]string{"sensor_id", "calls_limit", "share_key", "share_ttl", "open_api_tenant", "open_api_role"}, reportNames...)...); err != nil {
		return nil, fmt.Errorf("voipmonitor: %w", err)
	}
	a := &API{d: d, cdrs: cs, log: d.Logger, now: d.Now, reports: reports}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.sensorID, err = intOption(d.Options, "sensor_id", 1, 1, 1<<30); err != nil {
		return nil, fmt.Errorf("voipmonitor: %w", err)
	}
	if a.callsLimit, err = intOption(d.Options, "calls_limit", 0, 0, 1<<30); err != nil {
		return nil, fmt.Errorf("voipmonitor: %w", err)
	}
	if a.open, err = openAPI(d); err != nil {
		return nil, fmt.Errorf("voipmonitor: %w", err)
	}
	if a.shareKey, err = shareKey(d.Options); err != nil {
		return nil, fmt.Errorf("voipmonitor: %w", err)
	}
	if a.shareTTL, err = d.Options.Duration("share_ttl", 24*time.Hour, time.Minute, 90*24*time.Hour); err != nil {
		return nil, fmt.Errorf("voipmonitor: %w", err)
	}
	return a, nil
}

// intOption reads an integer option within [lo, hi]; absent, def.
func intOption(o dialect.Options, name string, def, lo, hi int) (int, error) {
	s, ok := o[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("option %s: %q is not an integer between %d and %d", name, s, lo, hi)
	}
	return n, nil
}

// Name implements dialect.Dialect.
func (a *API) Name() string { return Name }

// Routes implements dialect.Dialect.
func (a *API) Routes() []string { return routes }

// Close implements dialect.Dialect: nothing runs in the background.
func (a *API) Close(context.Context) error { return nil }

// Handler implements dialect.Dialect.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				a.log.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				a.fail(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			writeJSON(w, http.StatusMethodNotAllowed, failure("method not allowed"))
			return
		}
		switch r.URL.Path {
		case pathSQL:
			a.sql(w, r)
		case pathAPI:
			a.api(w, r)
		case pathPCAP:
			a.pcap(w, r)
		case pathPCAP2:
			a.pcap2text(w, r)
		case pathUtilities:
			a.utilities(w, r)
		case pathShare:
			a.share(w, r)
		case pathAdmin:
			a.admin(w, r)
		case pathLicense:
			a.license(w, r)
		default:
			writeJSON(w, http.StatusNotFound, failure("not found"))
		}
	})
}

func failure(reason string) errorBody {
	var b errorBody
	b.Errors.Reason, b.Error = reason, reason
	return b
}

// fail answers an error through the one mapping; server-side failures are
// logged and not shown.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, reason := errorReply(err)
	if status == http.StatusTooManyRequests {
		if s := auth.RetryAfterSeconds(err); s > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(s))
		}
	}
	if status >= 500 {
		a.log.Error("request failed", "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, failure(reason))
}

// prefixOf is the path prefix the node stripped before the dialect saw
// the request (its configured prefix, e.g. "/demo"): what the request URI
// has before the path the dialect sees. "" when none.
func prefixOf(r *http.Request) string {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	prefix, ok := strings.CutSuffix(u.Path, r.URL.Path)
	if !ok {
		return ""
	}
	return strings.TrimSuffix(prefix, "/")
}

// cookieName is the session cookie of the GUI the request addressed: PHP
// names it PHPSESSID, and a GUI installed in a subdirectory (the spec's
// /demo) PHPSESSID-demo.
func cookieName(r *http.Request) string {
	prefix := strings.Trim(prefixOf(r), "/")
	if prefix == "" {
		return "PHPSESSID"
	}
	return "PHPSESSID-" + strings.ReplaceAll(prefix, "/", "-")
}

// cookiePath is the prefix the cookie belongs to.
func cookiePath(r *http.Request) string { return prefixOf(r) + "/" }

// session authenticates a request by its GUI session cookie.
func (a *API) session(r *http.Request) (auth.Principal, error) {
	c, err := r.Cookie(cookieName(r))
	if err != nil || c.Value == "" {
		return a.anonymous(r, fmt.Errorf("no %s cookie: %w", cookieName(r), auth.ErrBadCredentials))
	}
	p, _, err := a.d.Gate.Check(r.Context(), dialect.Presented{SessionID: c.Value, IP: dialect.RemoteIP(r)})
	return p, err
}

// statusWriter remembers the status for the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// form reads the request's parameters: the query and a urlencoded or
// multipart body, bounded.
func form(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return paramErr("the request's form cannot be read: " + trimErr(err))
	}
	return nil
}

// trimErr bounds an error's text shown to a client.
func trimErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
