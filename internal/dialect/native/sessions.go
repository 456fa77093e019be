package native

import (
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

const sessionCookie = "sb_session"

// SetSessions enables login sessions.
func (a *API) SetSessions(s *auth.Sessions) { a.sessions = s }

// sessionID is the session a request presents, if any.
func sessionID(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Session ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Session "))
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// login checks a user's password (under the lockout rules) and starts a
// session: the id comes back in the body and as an HttpOnly cookie.
func (a *API) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if a.sessions == nil {
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
	ip := remoteIP(r)
	account := body.Tenant + "/" + body.User
	if a.limiter != nil && a.limiter.Check(ip, account) != nil {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "locked_out", "too many failed logins from this address or for this account; try again later")
		return
	}
	p, err := a.auth.CheckPassword(body.Tenant, body.User, body.Password)
	if err == nil && !p.AllowedFrom(ip) {
		writeError(w, http.StatusForbidden, "address_not_allowed", "this address may not use these credentials")
		return
	}
	if err != nil {
		if a.limiter != nil && a.limiter.Failed(ip, account) {
			a.log.Warn("api lockout started", "remote", ip.String(), "account", account)
		}
		a.log.Info("api login failed", "remote", ip.String(), "account", account)
		writeError(w, http.StatusUnauthorized, "unauthorized", "bad user or password")
		return
	}
	if a.limiter != nil {
		a.limiter.Succeeded(ip, account)
	}
	id, expires := a.sessions.Create(r.Context(), p)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: expires})
	writeJSON(w, http.StatusCreated, map[string]any{"sid": id, "expires": expires, "user": p.Name, "tenant": p.Tenant, "role": p.Role})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if a.sessions == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "sessions are not enabled")
		return
	}
	id := sessionID(r)
	if id == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "no session presented (Authorization: Session <id> or the cookie)")
		return
	}
	a.sessions.Revoke(id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	w.WriteHeader(http.StatusNoContent)
}

// checkSession authenticates a request carrying a session.
func (a *API) checkSession(r *http.Request, id string) (auth.Principal, error) {
	if a.sessions == nil {
		return auth.Principal{}, auth.ErrBadCredentials
	}
	p, err := a.sessions.Check(r.Context(), id)
	if errors.Is(err, auth.ErrNoSession) {
		return p, auth.ErrBadCredentials
	}
	return p, err
}
