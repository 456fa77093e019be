package dialect

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// Authenticator is what the gate needs of the accounts model;
// *auth.Directory is one.
type Authenticator interface {
	Login(ctx context.Context, at auth.LoginAttempt) (auth.Principal, error)
	LoginChallenge(ctx context.Context, at auth.LoginAttempt, prove func(auth.Principal) bool) (auth.Principal, error)
	AuthenticateKey(ctx context.Context, key string) (auth.Principal, error)
}

var _ Authenticator = (*auth.Directory)(nil)

// Gate turns the credentials a request presents into a principal, the same
// way for every dialect: passwords through auth.Directory.Login (lockout
// counted before hashing, one key per account, allowlists), API keys and
// sessions with failures counted per address, and the address allowlist
// checked for every kind. Dialects differ only in where their clients put
// the credentials (a header, a cookie, a query parameter, a form), which
// they read themselves and hand over as Presented.
type Gate struct {
	Auth Authenticator
	// Limiter counts bad keys and sessions per address (password logins
	// are counted inside Login); nil: not counted.
	Limiter *auth.Limiter
	// Sessions backs session ids; nil: sessions are refused.
	Sessions *auth.Sessions
	// Connectable, when set, says whether an address may be served at
	// all, before it presents any credential (see MayConnect); the node
	// builds it with AnyTenantAllows. nil: every address.
	Connectable func(netip.Addr) bool
}

// MayConnect reports whether ip may connect before presenting any
// credential. It is false only when no login from ip could succeed: the
// address is in no tenant's allowlist. Dialects whose protocol talks
// before the login (VIPTel's nonce) ask it first; the allowlists of the
// account and its tenant still apply at login, for every dialect.
func (g *Gate) MayConnect(ip netip.Addr) bool {
	return g.Connectable == nil || g.Connectable(ip)
}

// AnyTenantAllows builds Gate.Connectable from the tenants' allowlists
// (tenant name → its allow_from): an address may connect when some
// tenant lists it. A tenant's list bounds every account of it (users,
// keys, database and LDAP accounts: auth.Principal.TenantAllowFrom), so
// an address no tenant lists can log in to none. When some tenant has no
// list (anyone may try its accounts), or there are no tenants, it is nil:
// every address may connect. The lists are copied.
func AnyTenantAllows(lists map[string][]netip.Prefix) func(netip.Addr) bool {
	if len(lists) == 0 {
		return nil
	}
	var all []netip.Prefix
	for _, l := range lists {
		if len(l) == 0 {
			return nil
		}
		all = append(all, l...)
	}
	return func(ip netip.Addr) bool {
		ip = ip.Unmap()
		for _, p := range all {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
}

// Presented is what one request carries.
type Presented struct {
	// Authorization is the HTTP header: "Basic ...", "Bearer <key>" or
	// "Session <id>".
	Authorization string
	// SessionID is a session the dialect found elsewhere (a cookie, a
	// query parameter such as WebTAPI's SID).
	SessionID string
	IP        netip.Addr
}

// Check authenticates a request. account names who was tried, for logs
// (bounded, never a password). A bad or missing credential is
// auth.ErrBadCredentials; a lockout auth.ErrLockedOut (with the real
// remaining time, auth.RetryAfterSeconds); an address off the allowlist
// auth.ErrAddressNotAllowed; anything else is a server-side failure.
func (g *Gate) Check(ctx context.Context, c Presented) (p auth.Principal, account string, err error) {
	h := c.Authorization
	sid := c.SessionID
	if strings.HasPrefix(h, "Session ") {
		sid = strings.TrimSpace(strings.TrimPrefix(h, "Session "))
	}
	switch {
	case sid != "" && !strings.HasPrefix(h, "Bearer ") && !strings.HasPrefix(h, "Basic "):
		// An unknown session id is not counted as a failed login: ids are
		// 256-bit random, so guessing one is hopeless, while a client
		// still polling with its expired session would lock its own
		// address out of the login that renews it.
		p, err = g.session(ctx, sid)
	case strings.HasPrefix(h, "Bearer "):
		if g.Limiter != nil {
			if err = g.Limiter.Check(c.IP, ""); err != nil {
				return p, "", err
			}
		}
		p, err = g.Auth.AuthenticateKey(ctx, strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")))
		if errors.Is(err, auth.ErrBadCredentials) && g.Limiter != nil {
			g.Limiter.Failed(c.IP, "")
		}
	case strings.HasPrefix(h, "Basic "):
		user, pw, ok := parseBasic(h)
		if !ok {
			return p, "", auth.ErrBadCredentials
		}
		// user, user@tenant or tenant/user: auth.ParseLogin decides.
		account = LogName(user)
		p, err = g.Auth.Login(ctx, auth.LoginAttempt{Name: user, Password: pw, IP: c.IP})
	default:
		if h != "" && g.Limiter != nil {
			g.Limiter.Failed(c.IP, "")
		}
		return p, "", auth.ErrBadCredentials
	}
	if err != nil {
		return p, account, err
	}
	if !p.AllowedFrom(c.IP) { // keys and sessions; password logins were checked by Login
		return p, p.Name, auth.ErrAddressNotAllowed
	}
	return p, account, nil
}

// Login checks a name and password given in a form (a session login,
// WebTAPI's AUTH[user]/AUTH[pass], VoIPmonitor's user/pass).
func (g *Gate) Login(ctx context.Context, tenant, name, password string, ip netip.Addr) (auth.Principal, error) {
	return g.Auth.Login(ctx, auth.LoginAttempt{Tenant: tenant, Name: name, Password: password, IP: ip})
}

// StartSession opens a session for p; ok is false when sessions are off.
func (g *Gate) StartSession(ctx context.Context, p auth.Principal) (id string, expires time.Time, ok bool) {
	if g.Sessions == nil {
		return "", time.Time{}, false
	}
	id, expires = g.Sessions.Create(ctx, p)
	return id, expires, true
}

// EndSession revokes a session id.
func (g *Gate) EndSession(id string) {
	if g.Sessions != nil {
		g.Sessions.Revoke(id)
	}
}

func (g *Gate) session(ctx context.Context, id string) (auth.Principal, error) {
	if g.Sessions == nil {
		return auth.Principal{}, auth.ErrBadCredentials
	}
	p, err := g.Sessions.Check(ctx, id)
	if errors.Is(err, auth.ErrNoSession) {
		return p, auth.ErrBadCredentials
	}
	return p, err
}

// parseBasic reads an HTTP Basic header value.
func parseBasic(h string) (user, pw string, ok bool) {
	r := http.Request{Header: http.Header{"Authorization": {h}}}
	return r.BasicAuth()
}

// RemoteIP is the connection's address: no proxy header is trusted.
func RemoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// LogName bounds a client-supplied login name for a log line.
func LogName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
