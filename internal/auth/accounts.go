package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ErrNotFound and ErrExists are the account store's outcomes callers act
// on.
var (
	ErrNotFound = errors.New("auth: no such account")
	ErrExists   = errors.New("auth: account exists")
	// ErrInvalid wraps every refusal of a name, password, role or
	// lifetime given to CreateUser, CreateKey or ChangePassword: the
	// caller's mistake (400), unlike a store error.
	ErrInvalid = errors.New("auth: invalid account data")
)

// Limits on account data. Names reach log lines, audit entries, CLI
// tables and (user names) the login syntax, so they are a small ASCII set
// without separators or control characters.
const (
	// MaxNameLen bounds user and key names (bytes).
	MaxNameLen = 64
	// MaxPasswordLen bounds new passwords (bytes); argon2id would accept
	// more, but nobody types a longer one.
	MaxPasswordLen = 1024
	// MaxKeyTTL bounds a key's lifetime: a key must expire within ten
	// years, or never (ttl 0) when that is what the operator asked for.
	MaxKeyTTL = 10 * 365 * 24 * time.Hour
)

// ValidUserName: 1-64 ASCII letters, digits, '.', '_' and '-', starting
// with a letter or digit. '@' and '/' are excluded because they separate
// user and tenant at login (ParseLogin); NUL, CR/LF, spaces and other
// control characters never reach logs or headers.
func ValidUserName(name string) error {
	return validName(name, "user name", "")
}

// ValidKeyName: like ValidUserName, and also '@' and inner spaces ("CRM
// integration", "crm@office"): key names are labels, never typed at a
// login.
func ValidKeyName(name string) error {
	if strings.HasSuffix(name, " ") {
		return fmt.Errorf("%w: key name must not end with a space", ErrInvalid)
	}
	return validName(name, "key name", "@ ")
}

func validName(name, what, extra string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: %s must be 1-%d characters", ErrInvalid, what, MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum || i > 0 && (strings.IndexByte("._-", c) >= 0 || strings.IndexByte(extra, c) >= 0) {
			continue
		}
		return fmt.Errorf("%w: %s may contain only letters, digits and %q, starting with a letter or digit", ErrInvalid, what, "._-"+strings.TrimSpace(extra))
	}
	return nil
}

func validPassword(pw string) error {
	if len(pw) < MinPasswordLen {
		return fmt.Errorf("%w: password must be at least %d characters", ErrInvalid, MinPasswordLen)
	}
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("%w: password must be at most %d bytes", ErrInvalid, MaxPasswordLen)
	}
	return nil
}

// StoredUser is a user kept in the database (created by the CLI or the
// API) rather than the config file.
type StoredUser struct {
	Tenant       string `json:"tenant"`
	Name         string `json:"name"`
	PasswordHash string `json:"-"`
	// VIPTelVerifier: see auth.VIPTelVerifier; password-equivalent.
	VIPTelVerifier string         `json:"-"`
	Role           string         `json:"role"`
	Extension      string         `json:"extension,omitempty"`
	AllowFrom      []netip.Prefix `json:"allow_from,omitempty"`
	Created        time.Time      `json:"created"`
	Changed        time.Time      `json:"password_changed"`
	// Disabled is why the account may not log in ("": it may).
	Disabled string `json:"disabled,omitempty"`
}

// StoredKey is an API key kept in the database: only its SHA-256 and a
// short prefix for recognising it in lists.
type StoredKey struct {
	ID        int64          `json:"id"`
	Tenant    string         `json:"tenant"`
	Name      string         `json:"name"`
	SHA256    string         `json:"-"`
	Prefix    string         `json:"prefix"`
	Role      string         `json:"role"`
	AllowFrom []netip.Prefix `json:"allow_from,omitempty"`
	Created   time.Time      `json:"created"`
	Expires   time.Time      `json:"expires,omitzero"`
	Revoked   time.Time      `json:"revoked,omitzero"`
	LastUsed  time.Time      `json:"last_used,omitzero"`
}

// Usable reports whether the key may authenticate at now.
func (k StoredKey) Usable(now time.Time) bool {
	return k.Revoked.IsZero() && (k.Expires.IsZero() || now.Before(k.Expires))
}

// Accounts is the database side of the directory.
type Accounts interface {
	CreateUser(ctx context.Context, u StoredUser) error
	GetUser(ctx context.Context, tenant, name string) (StoredUser, error)
	FindUsers(ctx context.Context, name string) ([]StoredUser, error) // across tenants
	ListUsers(ctx context.Context, tenant string) ([]StoredUser, error)
	SetPassword(ctx context.Context, tenant, name, hash, viptelVerifier string, at time.Time) error
	// SetDisabled disables a user with a reason, or enables it ("").
	SetDisabled(ctx context.Context, tenant, name, reason string) error
	CreateKey(ctx context.Context, k *StoredKey) error
	KeyBySHA256(ctx context.Context, sum string) (StoredKey, error)
	ListKeys(ctx context.Context, tenant string) ([]StoredKey, error)
	RevokeKey(ctx context.Context, tenant string, id int64, at time.Time) error
	TouchKey(ctx context.Context, tenant string, id int64, at time.Time) error
}

// Roles lists the roles in order of power, for "may not grant more than
// you have" checks.
var Roles = []string{"readonly", "user", "agent", "supervisor", "admin"}

// ValidRole reports whether r is a role.
func ValidRole(r string) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// NewKey makes a random API key: "sbk_" and 40 base64url characters
// (240 bits).
func NewKey() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return "sbk_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// KeySum is the hex SHA-256 under which a key is stored.
func KeySum(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// CreateKey stores a new key and returns it in clear — the only time it
// is ever shown. ttl 0 means the key never expires; otherwise it must be
// positive and at most MaxKeyTTL (a huge value used to overflow into a
// key that never expired).
func CreateKey(ctx context.Context, acc Accounts, tenant, name, role string, ttl time.Duration, allow []netip.Prefix, now time.Time) (string, StoredKey, error) {
	if err := ValidKeyName(name); err != nil {
		return "", StoredKey{}, err
	}
	if !ValidRole(role) {
		return "", StoredKey{}, fmt.Errorf("%w: %q is not a role (%s)", ErrInvalid, role, strings.Join(Roles, ", "))
	}
	if ttl < 0 || ttl > MaxKeyTTL {
		return "", StoredKey{}, fmt.Errorf("%w: a key's lifetime must be between 0 (never expires) and %v", ErrInvalid, MaxKeyTTL)
	}
	key := NewKey()
	k := StoredKey{Tenant: tenant, Name: name, SHA256: KeySum(key), Prefix: key[:8], Role: role, AllowFrom: allow, Created: now}
	if ttl > 0 {
		k.Expires = now.Add(ttl)
	}
	if err := acc.CreateKey(ctx, &k); err != nil {
		return "", StoredKey{}, err
	}
	return key, k, nil
}

// MinPasswordLen is enforced on users created outside the config file.
const MinPasswordLen = 10

// CreateUser stores a user with an argon2id hash of password.
func CreateUser(ctx context.Context, acc Accounts, tenant, name, password, role, ext string, now time.Time) error {
	if err := ValidUserName(name); err != nil {
		return err
	}
	if ext != "" {
		if err := validName(ext, "extension", ""); err != nil {
			return err
		}
	}
	if !ValidRole(role) {
		return fmt.Errorf("%w: %q is not a role (%s)", ErrInvalid, role, strings.Join(Roles, ", "))
	}
	if err := validPassword(password); err != nil {
		return err
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	return acc.CreateUser(ctx, StoredUser{Tenant: tenant, Name: name, PasswordHash: h, VIPTelVerifier: VIPTelVerifier(name, password),
		Role: role, Extension: ext, Created: now, Changed: now})
}

// ChangePassword replaces a stored user's password.
func ChangePassword(ctx context.Context, acc Accounts, tenant, name, password string, now time.Time) error {
	if err := validPassword(password); err != nil {
		return err
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	return acc.SetPassword(ctx, tenant, name, h, VIPTelVerifier(name, password), now)
}

// ParsePrefixes reads an allowlist: CIDRs or single addresses.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
