package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Outcomes of Login besides ErrBadCredentials and *LockedOutError. Every
// dialect maps them the same way (as native.loginError does): ambiguous and
// bad credentials 401, invalid 400, address 403, lockout 429, overloaded
// and unavailable 503, anything else (a database error) 500.
var (
	// ErrAmbiguousLogin: a login without a tenant names a user that exists
	// in several tenants (configured, database or directory users). It is
	// also ErrBadCredentials, so callers that only know that one refuse it.
	ErrAmbiguousLogin = fmt.Errorf("%w: the user name exists in several tenants; log in as user@tenant or tenant/user", ErrBadCredentials)
	// ErrInvalidLogin: the login names two different tenants (user@a with
	// tenant b).
	ErrInvalidLogin = errors.New("auth: the login names two different tenants")
	// ErrAddressNotAllowed: the credentials are right, but not from this
	// address (the principal's or its tenant's allowlist).
	ErrAddressNotAllowed = errors.New("auth: this address may not use these credentials")
	// ErrAccountDisabled: the credentials are right, but an operator
	// disabled the account (the reason follows in the message).
	ErrAccountDisabled = errors.New("auth: account disabled")
	// ErrOverloaded: too many password checks are running; the attempt
	// was not made and not counted.
	ErrOverloaded = errors.New("auth: too many logins in progress; try again shortly")
	// ErrUnavailable: an external directory (LDAP) could not be asked; the
	// attempt was not counted.
	ErrUnavailable = errors.New("auth: account directory unavailable")
)

// Hash-pool defaults. Each argon2id check holds 19 MiB for tens of
// milliseconds; without a bound 100 concurrent logins took 0.8-2 GB.
const (
	// DefaultHashWait is how long a login waits for a free hashing slot
	// (and for in-flight attempts of the same account) before ErrOverloaded.
	DefaultHashWait = 5 * time.Second
	maxHashWorkers  = 16
)

// DefaultHashWorkers is the number of concurrent argon2id checks:
// 2×CPUs, at least 2 and at most 16 (16 × 19 MiB ≈ 300 MiB at worst).
func DefaultHashWorkers() int { return max(2, min(runtime.NumCPU()*2, maxHashWorkers)) }

// ParseLogin splits a login name into tenant and user: "tenant/user" and
// "user@tenant" name the tenant, a bare "user" does not (tenant ""). User
// names may contain neither '/' nor '@' (see ValidUserName), so the forms
// cannot be confused. Every login form of every dialect uses this one
// function, so they all accept the same names.
func ParseLogin(raw string) (tenant, name string) {
	if t, n, ok := strings.Cut(raw, "/"); ok {
		return t, n
	}
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		return raw[i+1:], raw[:i]
	}
	return "", raw
}

// LoginAttempt is one password login as a dialect received it.
type LoginAttempt struct {
	// Tenant is an explicitly given tenant (a form field); "" when none.
	Tenant string
	// Name is the user field as typed: "user", "user@tenant" or
	// "tenant/user" (parsed by ParseLogin).
	Name     string
	Password string
	// IP is the connection's address. The zero Addr means unknown: then
	// no per-address accounting is done and an allowlist refuses.
	IP netip.Addr
}

// SetLimiter replaces the directory's failed-login limiter (NewDirectory
// installs one with the defaults). Every dialect logging in through this
// directory shares it, so guesses spread over several APIs add up.
func (d *Directory) SetLimiter(l *Limiter) {
	if l == nil {
		return
	}
	d.mu.Lock()
	d.limiter = l
	d.mu.Unlock()
}

// Limiter returns the directory's limiter, for dialects that refuse
// locked-out addresses on other paths (API keys).
func (d *Directory) Limiter() *Limiter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.limiter
}

// SetHashLimits sets how many argon2id checks run at once (workers <= 0:
// DefaultHashWorkers) and how long a login waits for a slot (wait <= 0:
// DefaultHashWait). Call it before the directory is used.
func (d *Directory) SetHashLimits(workers int, wait time.Duration) {
	if workers <= 0 {
		workers = DefaultHashWorkers()
	}
	if wait <= 0 {
		wait = DefaultHashWait
	}
	d.mu.Lock()
	d.hashSem = make(chan struct{}, workers)
	d.hashWait = wait
	d.mu.Unlock()
}

// Verifications counts the argon2id checks made so far (including those
// against the dummy hash): a metric, and how tests prove a refusal cost
// no hash.
func (d *Directory) Verifications() uint64 { return d.verifications.Load() }

// newDummyHash is what unknown users are checked against, so they cost
// one argon2id check like known ones and timing does not tell them apart.
func newDummyHash() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: dummy password: %w", err)
	}
	return HashPassword(base64.RawStdEncoding.EncodeToString(b[:]))
}

// Login authenticates a password login: the one path every dialect uses
// (Basic, session and form logins, challenge logins that know the
// password). In order, before any hash is computed: the tenant is parsed
// from the name, a locked-out address is refused, the account is resolved
// (refusing tenant-less names that exist in several tenants) and an
// attempt is reserved with the limiter under the account's normalised
// key; then the password is checked in the bounded hash pool (unknown
// users against a dummy hash), the attempt counted as failed or
// succeeded, and the allowlist applied.
func (d *Directory) Login(ctx context.Context, at LoginAttempt) (Principal, error) {
	return d.login(ctx, at, true)
}

func (d *Directory) login(ctx context.Context, at LoginAttempt, checkAllow bool) (Principal, error) {
	t, err := d.target(ctx, at)
	if err != nil {
		return Principal{}, err
	}
	cand, ldapTenant, name, ip, key, lim := t.cand, t.ldapTenant, t.name, t.ip, t.key, t.lim
	allow := func(p Principal) (Principal, error) {
		if checkAllow && !p.AllowedFrom(ip) {
			return Principal{}, ErrAddressNotAllowed
		}
		if p.Disabled != "" {
			return Principal{}, fmt.Errorf("%w: %s", ErrAccountDisabled, p.Disabled)
		}
		return p, nil
	}

	// A password verified within verifiedTTL costs no hash (Basic sends it
	// with every request); a lockout still applies to it.
	var ck [32]byte
	switch {
	case cand != nil:
		ck = sha256.Sum256([]byte(cand.p.Tenant + "\x00" + name + "\x00" + at.Password + "\x00" + cand.hash))
	case ldapTenant != "":
		ck = sha256.Sum256([]byte("ldap\x00" + ldapTenant + "\x00" + name + "\x00" + at.Password))
	}
	if cand != nil || ldapTenant != "" {
		if p, ok := d.cached(ck, cand, ldapTenant, name); ok {
			if err := lim.Check(ip, key); err != nil {
				return Principal{}, err
			}
			lim.Succeeded(ip, key)
			return allow(p)
		}
	}

	wctx, cancel := context.WithTimeout(ctx, d.hashWaitOr())
	defer cancel()
	res, err := lim.Reserve(wctx, ip, key)
	if err != nil {
		return Principal{}, err
	}
	// While this attempt waited for a slot, a concurrent one with the
	// same password may have verified it: then it costs no hash (a
	// dashboard opening many streams at once hashes its password a few
	// times, not once per stream).
	if cand != nil || ldapTenant != "" {
		if p, ok := d.cached(ck, cand, ldapTenant, name); ok {
			res.Succeed()
			return allow(p)
		}
	}
	if cand == nil && ldapTenant != "" {
		p, err := d.checkLDAP(ldapTenant, name, at.Password, ck)
		switch {
		case errors.Is(err, ErrUnavailable):
			res.Release()
			return Principal{}, err
		case err != nil:
			res.Fail()
			return Principal{}, ErrBadCredentials
		}
		res.Succeed()
		return allow(p)
	}
	hash := d.dummyHash
	if cand != nil {
		hash = cand.hash
	}
	ok, err := d.verify(wctx, hash, at.Password)
	if err != nil {
		res.Release()
		return Principal{}, err
	}
	if !ok || cand == nil {
		res.Fail()
		return Principal{}, ErrBadCredentials
	}
	res.Succeed()
	d.remember(ck, "")
	return allow(cand.p)
}

// LoginChallenge authenticates a login that proves knowledge of the
// password without sending it (VIPTel's SHA-1 challenge): the same
// parsing, tenant resolution, ambiguity refusal, lockout and allowlist as
// Login. prove gets the resolved principal (the zero Principal for an
// unknown user, so unknown and known users are counted alike) and reports
// whether the client's proof is right; it must be cheap (no hashing pool
// is used).
func (d *Directory) LoginChallenge(ctx context.Context, at LoginAttempt, prove func(Principal) bool) (Principal, error) {
	return d.loginChallenge(ctx, at, prove, true)
}

func (d *Directory) loginChallenge(ctx context.Context, at LoginAttempt, prove func(Principal) bool, checkAllow bool) (Principal, error) {
	t, err := d.target(ctx, at)
	if err != nil {
		return Principal{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, d.hashWaitOr())
	defer cancel()
	res, err := t.lim.Reserve(wctx, t.ip, t.key)
	if err != nil {
		return Principal{}, err
	}
	var p Principal
	if t.cand != nil {
		p = t.cand.p
	}
	if !prove(p) || t.cand == nil {
		res.Fail()
		return Principal{}, ErrBadCredentials
	}
	res.Succeed()
	if checkAllow && !p.AllowedFrom(t.ip) {
		return Principal{}, ErrAddressNotAllowed
	}
	if p.Disabled != "" {
		return Principal{}, fmt.Errorf("%w: %s", ErrAccountDisabled, p.Disabled)
	}
	return p, nil
}

// loginTarget is what a login is about, known before any secret is
// checked.
type loginTarget struct {
	cand       *user  // a configured or database user
	ldapTenant string // else the tenant whose directory decides
	name       string
	ip         netip.Addr
	key        string // AccountKey the attempt is counted under
	lim        *Limiter
}

// target parses the login (ParseLogin plus the explicit tenant), refuses
// a locked-out address and resolves the account; no secret is checked
// and nothing is counted yet.
func (d *Directory) target(ctx context.Context, at LoginAttempt) (loginTarget, error) {
	tenant, name := ParseLogin(at.Name)
	if at.Tenant != "" {
		if tenant != "" && !strings.EqualFold(tenant, at.Tenant) {
			return loginTarget{}, ErrInvalidLogin
		}
		tenant = at.Tenant
	}
	t := loginTarget{name: name, ip: at.IP.Unmap(), lim: d.Limiter()}
	if err := t.lim.Check(t.ip, ""); err != nil {
		return loginTarget{}, err
	}
	if name == "" {
		return loginTarget{}, ErrBadCredentials
	}
	var err error
	if t.cand, t.ldapTenant, err = d.resolve(ctx, tenant, name); err != nil {
		return loginTarget{}, err
	}
	switch {
	case t.cand != nil:
		t.key = AccountKey(t.cand.p.Tenant, name)
	case t.ldapTenant != "":
		t.key = AccountKey(t.ldapTenant, name)
	default:
		t.key = AccountKey(tenant, name)
	}
	return t, nil
}

func (d *Directory) hashWaitOr() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hashWait
}

// verify runs one argon2id check in the bounded pool; a slot not free
// before ctx ends is ErrOverloaded (the request is answered, not hung).
func (d *Directory) verify(ctx context.Context, hash, pw string) (bool, error) {
	release, err := d.hashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	d.verifications.Add(1)
	return VerifyPassword(hash, pw), nil
}

// HashSlot takes a slot of the password-hashing pool for work done outside
// Login — hashing a new password (CreateUser, ChangePassword) costs the
// same 19 MiB — and returns its release. It waits at most the pool's wait
// (and ctx), then returns ErrOverloaded.
func (d *Directory) HashSlot(ctx context.Context) (release func(), err error) {
	wctx, cancel := context.WithTimeout(ctx, d.hashWaitOr())
	defer cancel()
	return d.hashSlot(wctx)
}

func (d *Directory) hashSlot(ctx context.Context) (func(), error) {
	d.mu.Lock()
	sem := d.hashSem
	d.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (%w)", ErrOverloaded, ctx.Err())
	}
}

// cached returns the principal of a login verified within verifiedTTL.
func (d *Directory) cached(ck [32]byte, cand *user, ldapTenant, name string) (Principal, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	exp, ok := d.verified[ck]
	if !ok || !time.Now().Before(exp) {
		return Principal{}, false
	}
	if cand != nil {
		return cand.p, true
	}
	return Principal{Tenant: ldapTenant, Name: name, Role: d.ldapRoles[ck], TenantAllowFrom: d.tenantAllow[ldapTenant]}, true
}

// remember caches a verified login (role: a directory login's).
func (d *Directory) remember(ck [32]byte, role string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.verified) > 10000 {
		clear(d.verified)
		clear(d.ldapRoles)
	}
	d.verified[ck] = time.Now().Add(verifiedTTL)
	if role != "" {
		d.ldapRoles[ck] = role
	}
}

// resolve finds the account a login names: configured users, then
// database users (a configured user shadows a database one of the same
// tenant and name), then the tenant's LDAP directory (ldapTenant set,
// cand nil). Without a tenant the name must be unique across tenants:
// several matches, or no local match and several directories, are
// ErrAmbiguousLogin. Tenants compare without case. A database error is
// returned as such, never as bad credentials. Neither found: (nil, "").
func (d *Directory) resolve(ctx context.Context, tenant, name string) (cand *user, ldapTenant string, err error) {
	var cands []*user
	for _, u := range d.users[name] {
		if tenant == "" || strings.EqualFold(u.p.Tenant, tenant) {
			cands = append(cands, u)
		}
	}
	// With a tenant named and a configured user found, the database
	// cannot change the answer: skip the query.
	if acc := d.accounts(); acc != nil && (tenant == "" || len(cands) == 0) {
		us, err := acc.FindUsers(ctx, name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, "", fmt.Errorf("auth: looking up user: %w", err)
		}
	stored:
		for _, u := range us {
			if tenant != "" && !strings.EqualFold(u.Tenant, tenant) {
				continue
			}
			for _, c := range cands {
				if strings.EqualFold(c.p.Tenant, u.Tenant) {
					continue stored // the configured one wins
				}
			}
			cands = append(cands, &user{p: Principal{Tenant: u.Tenant, Name: u.Name, Role: u.Role, Extension: u.Extension,
				AllowFrom: u.AllowFrom, TenantAllowFrom: d.tenantAllow[u.Tenant], VIPTelVerifier: u.VIPTelVerifier,
				Disabled: u.Disabled}, hash: u.PasswordHash})
		}
	}
	switch {
	case len(cands) > 1:
		return nil, "", ErrAmbiguousLogin
	case len(cands) == 1:
		return cands[0], "", nil
	}
	t, _, n := d.ldapFor(tenant)
	if n > 1 {
		return nil, "", ErrAmbiguousLogin
	}
	return nil, t, nil
}
