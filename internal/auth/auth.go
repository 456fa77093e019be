// Package auth holds accounts for the APIs: users with argon2id password
// hashes, API keys stored as SHA-256, roles and the rights they carry. It
// is the one model every dialect authenticates against, so a right taken
// from a user is gone in every API at once. Dialects and internal/node
// import it; it imports nothing of the project.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrBadCredentials never says which part was wrong.
var ErrBadCredentials = errors.New("auth: bad credentials")

// Principal is an authenticated caller.
type Principal struct {
	Tenant    string
	Name      string
	Role      string
	Extension string // the user's own phone, if any
	APIKey    bool
	// AllowFrom lists the networks the principal may call from: its own
	// list and its tenant's both apply (empty means any).
	AllowFrom       []netip.Prefix
	TenantAllowFrom []netip.Prefix
	// Rights, when set, replaces the role's rights (a configured role, or
	// rights denied to this one account).
	Rights map[string]bool
	// CallerIDs are the outbound caller ids this account may present
	// (config); empty: the tenant's list applies.
	CallerIDs []string
	// Disabled, when set, is why the account may not log in (VIPTel's
	// "User is not activated"); logins with the right password are
	// refused with ErrAccountDisabled.
	Disabled string
	// VIPTelVerifier is hex SHA1("user:password"), the password-equivalent
	// VIPTel's challenge needs; empty when the password is only known as
	// an argon2id hash.
	VIPTelVerifier string
}

// AllowedFrom reports whether a request from ip passes both allowlists
// (the VIPTel spec requires clients' addresses to be registered).
func (p Principal) AllowedFrom(ip netip.Addr) bool {
	ip = ip.Unmap()
	in := func(ps []netip.Prefix) bool {
		if len(ps) == 0 {
			return true
		}
		for _, pf := range ps {
			if pf.Contains(ip) {
				return true
			}
		}
		return false
	}
	return in(p.AllowFrom) && in(p.TenantAllowFrom)
}

// User is a configured account.
type User struct {
	Tenant, Name string
	Password     string // plaintext from the config file; hashed at construction and dropped
	PasswordHash string // argon2id PHC string
	Role         string
	Extension    string
	AllowFrom    []netip.Prefix
	Rights       map[string]bool // nil: the role's
	Disabled     string          // "": may log in; otherwise why not
	CallerIDs    []string        // outbound caller ids it may present; empty: the tenant's
}

// APIKey is a configured bearer key.
type APIKey struct {
	Tenant, Name string
	Key          string // plaintext; only its SHA-256 is kept
	KeySHA256    string
	Role         string
	AllowFrom    []netip.Prefix
	Rights       map[string]bool // nil: the role's
	CallerIDs    []string        // outbound caller ids it may present; empty: the tenant's
}

// OWASP's minimum argon2id parameters: 19 MiB, 2 passes, 1 thread.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	// verifiedTTL is how long a successful password check is remembered:
	// HTTP Basic sends the password on every request, and argon2id is slow
	// by design. The cache keys on SHA-256 of the password, never stores it.
	verifiedTTL = time.Minute
)

type user struct {
	p    Principal
	hash string
}

// Directory answers credential checks.
type Directory struct {
	users map[string][]*user // by name, across tenants
	keys  map[string]Principal

	mu       sync.Mutex
	verified map[[32]byte]time.Time

	// acc holds users and keys created at run time (CLI, API); config
	// entries take precedence over database ones of the same name.
	acc         Accounts
	ldap        map[string]LDAPConfig // by tenant
	tenantAllow map[string][]netip.Prefix
	touched     map[keyRef]time.Time // last_used writes, at most one a minute per key
	ldapRoles   map[[32]byte]string  // role of a cached directory login

	// limiter counts failed logins of every dialect; hashSem bounds the
	// argon2id checks running at once (each holds 19 MiB), hashWait how
	// long a login waits for one; dummyHash is what unknown users are
	// checked against. See Login.
	limiter       *Limiter
	hashSem       chan struct{}
	hashWait      time.Duration
	dummyHash     string
	verifications atomic.Uint64
}

// SetLDAP lets tenant's users log in against a directory (after the
// configured and database users, which take precedence).
func (d *Directory) SetLDAP(tenant string, cfg LDAPConfig) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ldap == nil {
		d.ldap = map[string]LDAPConfig{}
	}
	d.ldap[tenant] = cfg
	clear(d.ldapRoles) // logins cached under the old settings no longer hold
	clear(d.verified)
}

// ldapFor picks the directory for a login: the named tenant's (compared
// without case), or the only one configured when no tenant was named. n
// is how many directories could serve the login (more than one: the
// login is ambiguous).
func (d *Directory) ldapFor(tenant string) (t string, cfg LDAPConfig, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, c := range d.ldap {
		if tenant == "" || strings.EqualFold(name, tenant) {
			t, cfg, n = name, c, n+1
		}
	}
	if n != 1 {
		return "", LDAPConfig{}, n
	}
	return t, cfg, n
}

// SetAccounts adds the database's users and keys to the directory.
func (d *Directory) SetAccounts(acc Accounts) {
	d.mu.Lock()
	d.acc = acc
	d.mu.Unlock()
}

func (d *Directory) accounts() Accounts {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.acc
}

// NewDirectory hashes plaintext passwords and keys. tenantAllow holds each
// tenant's address allowlist (may be nil). User and key names must pass
// ValidUserName and ValidKeyName (errors wrap ErrInvalid).
func NewDirectory(users []User, keys []APIKey, tenantAllow map[string][]netip.Prefix) (*Directory, error) {
	d := &Directory{users: map[string][]*user{}, keys: map[string]Principal{}, verified: map[[32]byte]time.Time{},
		tenantAllow: tenantAllow, touched: map[keyRef]time.Time{}, ldapRoles: map[[32]byte]string{},
		limiter: NewLimiter(0, 0, nil)}
	d.SetHashLimits(0, 0)
	var err error
	if d.dummyHash, err = newDummyHash(); err != nil {
		return nil, err
	}
	for _, u := range users {
		// Configured names obey the same rules as created ones: they reach
		// logs and the login syntax just the same.
		if err := ValidUserName(u.Name); err != nil {
			return nil, fmt.Errorf("user %q of tenant %q: %w", u.Name, u.Tenant, err)
		}
		h := u.PasswordHash
		if h == "" {
			var err error
			if h, err = HashPassword(u.Password); err != nil {
				return nil, err
			}
		}
		p := Principal{Tenant: u.Tenant, Name: u.Name, Role: u.Role, Extension: u.Extension,
			AllowFrom: u.AllowFrom, TenantAllowFrom: tenantAllow[u.Tenant], Rights: u.Rights, Disabled: u.Disabled, CallerIDs: u.CallerIDs}
		if u.Password != "" {
			p.VIPTelVerifier = VIPTelVerifier(u.Name, u.Password)
		}
		d.users[u.Name] = append(d.users[u.Name], &user{p: p, hash: h})
	}
	for _, k := range keys {
		if err := ValidKeyName(k.Name); err != nil {
			return nil, fmt.Errorf("API key %q of tenant %q: %w", k.Name, k.Tenant, err)
		}
		sum := strings.ToLower(k.KeySHA256)
		if sum == "" {
			s := sha256.Sum256([]byte(k.Key))
			sum = hex.EncodeToString(s[:])
		}
		d.keys[sum] = Principal{Tenant: k.Tenant, Name: k.Name, Role: k.Role, APIKey: true, AllowFrom: k.AllowFrom, TenantAllowFrom: tenantAllow[k.Tenant], Rights: k.Rights, CallerIDs: k.CallerIDs}
	}
	return d, nil
}

// HashPassword returns an argon2id PHC string.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks pw against a PHC string.
func VerifyPassword(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CheckPassword authenticates a user without a request context or
// address: no allowlist and no per-address accounting.
//
// Deprecated: dialects use Login, which takes the request's context and
// address; this remains for callers not yet moved over.
func (d *Directory) CheckPassword(tenant, name, pw string) (Principal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.login(ctx, LoginAttempt{Tenant: tenant, Name: name, Password: pw}, false)
}

// checkLDAP binds against the tenant's directory; successes are cached
// (under ck) like local ones so Basic authentication does not bind per
// request. An unreachable directory is ErrUnavailable, not bad
// credentials.
func (d *Directory) checkLDAP(tenant, name, pw string, ck [32]byte) (Principal, error) {
	d.mu.Lock()
	cfg, ok := d.ldap[tenant]
	d.mu.Unlock()
	if !ok {
		return Principal{}, ErrBadCredentials
	}
	role, err := ldapLogin(cfg, name, pw)
	if err != nil {
		if errors.Is(err, errLDAPDown) {
			return Principal{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return Principal{}, ErrBadCredentials
	}
	d.remember(ck, role)
	return Principal{Tenant: tenant, Name: name, Role: role, TenantAllowFrom: d.tenantAllow[tenant]}, nil
}

// CheckAPIKey authenticates a bearer key without a request context.
//
// Deprecated: use AuthenticateKey.
func (d *Directory) CheckAPIKey(key string) (Principal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.AuthenticateKey(ctx, key)
}

// AuthenticateKey authenticates a bearer key: configured keys, then the
// database's (which may be expired or revoked). A database error is
// returned wrapped, never as bad credentials. Keys are 240 random bits
// and checked by SHA-256, so no hash pool or dummy hash is needed.
func (d *Directory) AuthenticateKey(ctx context.Context, key string) (Principal, error) {
	sum := KeySum(key)
	if p, ok := d.keys[sum]; ok {
		return p, nil
	}
	acc := d.accounts()
	if acc == nil {
		return Principal{}, ErrBadCredentials
	}
	k, err := acc.KeyBySHA256(ctx, sum)
	now := time.Now()
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrBadCredentials
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: looking up key: %w", err)
	}
	if !k.Usable(now) {
		return Principal{}, ErrBadCredentials
	}
	d.mu.Lock()
	tk := keyRef{k.Tenant, k.ID}
	touch := now.Sub(d.touched[tk]) > time.Minute
	if touch {
		d.touched[tk] = now
	}
	d.mu.Unlock()
	if touch {
		_ = acc.TouchKey(ctx, k.Tenant, k.ID, now)
	}
	return Principal{Tenant: k.Tenant, Name: k.Name, Role: k.Role, APIKey: true, AllowFrom: k.AllowFrom, TenantAllowFrom: d.tenantAllow[k.Tenant]}, nil
}

// keyRef names a stored key: ids count within each tenant.
type keyRef struct {
	tenant string
	id     int64
}

// Actions a principal may be allowed. The list is the one model every
// dialect maps its own permission names onto (see VoIPmonitorFlags).
const (
	ReadDirectory = "directory.read" // extensions and their states
	ReadCalls     = "calls.read"
	ControlCalls  = "calls.control" // originate and hang up
	ReadCDRs      = "cdr.read"
	ReadEvents    = "events.read"
	// Record starts, pauses and stops recordings (restricted roles: of
	// their own calls only); ReadRecordings lists them, PlayRecordings
	// streams and DownloadRecordings downloads the audio.
	Record             = "recordings.control"
	ReadRecordings     = "recordings.read"
	PlayRecordings     = "recordings.play"
	DownloadRecordings = "recordings.download"
	// ReadPCAP reads per-call captures and SIP ladders.
	ReadPCAP = "pcap.read"
	// ListenCalls monitors (spies on) live calls.
	ListenCalls = "calls.listen"
	// SuperviseQueues reorders and removes waiting callers and manages
	// other agents' membership.
	SuperviseQueues = "queues.supervise"
	// SendSMS sends text messages; ReadSMS reads the tenant's messages
	// (restricted roles, user and agent, only their own).
	SendSMS      = "sms.send"
	ReadSMS      = "sms.read"
	SwitchRelays = "relays.switch"
	ViewCameras  = "cameras.view"
	ReadSensors  = "sensors.read"
	// Admin manages the tenant's accounts and integrations.
	Admin = "admin"
)

// AllRights lists every right, for validating configured roles.
var AllRights = []string{ReadDirectory, ReadCalls, ControlCalls, ReadCDRs, ReadEvents, Record, ReadRecordings, PlayRecordings,
	DownloadRecordings, ReadPCAP, ListenCalls, SuperviseQueues, SendSMS, ReadSMS, SwitchRelays, ViewCameras, ReadSensors, Admin}

func set(rs ...string) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		m[r] = true
	}
	return m
}

// rights per built-in role. "user" and "agent" may control only calls of
// their own extension; handlers check that with Restricted.
var rights = map[string]map[string]bool{
	"admin": set(AllRights...),
	"supervisor": set(ReadDirectory, ReadCalls, ControlCalls, ReadCDRs, ReadEvents, Record, ReadRecordings, PlayRecordings,
		DownloadRecordings, ReadPCAP, ListenCalls, SuperviseQueues, SendSMS, ReadSMS, SwitchRelays, ViewCameras, ReadSensors),
	"agent":    set(ReadDirectory, ReadCalls, ControlCalls, ReadEvents, Record, SendSMS, ReadSMS),
	"user":     set(ReadDirectory, ReadCalls, ControlCalls, ReadEvents, Record, SendSMS, ReadSMS, SwitchRelays, ViewCameras),
	"readonly": set(ReadDirectory, ReadCalls, ReadCDRs, ReadEvents, ReadRecordings, PlayRecordings, DownloadRecordings, ReadSensors, ReadSMS),
}

// RoleRights returns a built-in role's rights (a copy).
func RoleRights(role string) map[string]bool {
	out := map[string]bool{}
	for r := range rights[role] {
		out[r] = true
	}
	return out
}

// Can reports whether the principal may do action: its own rights when
// they were customised (custom role, denied rights), else its role's.
func (p Principal) Can(action string) bool {
	if p.Rights != nil {
		return p.Rights[action]
	}
	return rights[p.Role][action]
}

// VoIPmonitorFlags renders the principal's rights as VoIPmonitor's user
// flags, so that dialect shows exactly what the model allows.
func (p Principal) VoIPmonitorFlags() map[string]int {
	b := func(ok bool) int {
		if ok {
			return 1
		}
		return 0
	}
	return map[string]int{
		"can_cdr": b(p.Can(ReadCDRs)), "can_play_audio": b(p.Can(PlayRecordings)), "can_download_audio": b(p.Can(DownloadRecordings)),
		"can_listen_active_call": b(p.Can(ListenCalls)), "can_pcap": b(p.Can(ReadPCAP)), "is_admin": b(p.Can(Admin)),
		"enable_sensors": b(p.Can(ReadSensors)),
	}
}

// Restricted reports whether call control is limited to the principal's
// own extension.
func (p Principal) Restricted() bool { return p.Role == "user" || p.Role == "agent" }
