package native

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

const sessionCookie = "sb_session"

// SetSessions enables login sessions.
func (a *API) SetSessions(s *auth.Sessions) { a.gate.Sessions = s }

// sessionCookieValue is the session cookie's value, if any.
func sessionCookieValue(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// sessionID is the session a request presents, if any: the header first.
func sessionID(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Session ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Session "))
	}
	return sessionCookieValue(r)
}

// login checks a user's password (under the lockout rules) and starts a
// session: the id comes back in the body and as an HttpOnly cookie.
func (a *API) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if a.gate.Sessions == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "sessions are not enabled")
		return
	}
	var body struct {
		User     string `json:"user"`
		Password string `json:"password"`
		Tenant   string `json:"tenant"`
	}
	if !decode(w, r, &body) {
		return
	}
	// The user field may name the tenant (user@tenant, tenant/user), as
	// may the tenant field; auth.Login parses and reconciles both.
	p, err := a.gate.Login(r.Context(), body.Tenant, body.User, body.Password, remoteIP(r))
	if err != nil {
		a.loginError(w, r, err, dialect.LogName(body.User), "bad user or password")
		return
	}
	id, expires, _ := a.gate.StartSession(r.Context(), p)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: expires})
	writeJSON(w, http.StatusCreated, map[string]any{"sid": id, "expires": expires, "user": p.Name, "tenant": p.Tenant, "role": p.Role})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if a.gate.Sessions == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "sessions are not enabled")
		return
	}
	id := sessionID(r)
	if id == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "no session presented (Authorization: Session <id> or the cookie)")
		return
	}
	a.gate.EndSession(id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	w.WriteHeader(http.StatusNoContent)
}

// loginError answers a failed login the same way on every login form:
// 429 with the real remaining Retry-After while locked out, 401 for bad
// credentials (badMsg) or an ambiguous tenant-less name, 400 for a login
// naming two tenants, 403 for an address off the allowlist, 503 when the
// server could not check (hash pool full, directory down) and 500 for
// anything else (a database error is never reported as bad credentials).
func (a *API) loginError(w http.ResponseWriter, r *http.Request, err error, account, badMsg string) {
	ip := remoteIP(r).String()
	switch {
	case errors.Is(err, auth.ErrLockedOut):
		secs := auth.RetryAfterSeconds(err)
		a.log.Warn("api login refused: locked out", "remote", ip, "account", account, "retry_after_s", secs)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		writeError(w, http.StatusTooManyRequests, "locked_out", "too many failed logins from this address or for this account; try again later")
	case errors.Is(err, auth.ErrAmbiguousLogin):
		a.log.Info("api login refused: ambiguous user name", "remote", ip, "account", account)
		writeError(w, http.StatusUnauthorized, "ambiguous_login", "this user name exists in several tenants: log in as user@tenant or tenant/user (or give tenant)")
	case errors.Is(err, auth.ErrBadCredentials):
		a.log.Info("api authentication failed", "remote", ip, "account", account, "path", r.URL.Path)
		writeError(w, http.StatusUnauthorized, "unauthorized", badMsg)
	case errors.Is(err, auth.ErrInvalidLogin):
		writeError(w, http.StatusBadRequest, "invalid_argument", "the user name and the tenant field name different tenants")
	case errors.Is(err, auth.ErrAccountDisabled):
		a.log.Info("api login refused: account disabled", "remote", ip, "account", account)
		writeError(w, http.StatusForbidden, "account_disabled", "this account is disabled")
	case errors.Is(err, auth.ErrAddressNotAllowed):
		a.log.Warn("api access from an address not on the allowlist", "remote", ip, "account", account)
		writeError(w, http.StatusForbidden, "address_not_allowed", "this address may not use these credentials")
	case errors.Is(err, auth.ErrOverloaded), errors.Is(err, auth.ErrUnavailable):
		a.log.Warn("api login could not be checked", "remote", ip, "account", account, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "credentials cannot be checked right now; try again shortly")
	default:
		a.log.Error("api login failed on a server error", "remote", ip, "account", account, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}
