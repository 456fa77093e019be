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
)

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
	CreateKey(ctx context.Context, k *StoredKey) error
	KeyBySHA256(ctx context.Context, sum string) (StoredKey, error)
	ListKeys(ctx context.Context, tenant string) ([]StoredKey, error)
	RevokeKey(ctx context.Context, tenant string, id int64, at time.Time) error
	TouchKey(ctx context.Context, id int64, at time.Time) error
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
// is ever shown.
func CreateKey(ctx context.Context, acc Accounts, tenant, name, role string, ttl time.Duration, allow []netip.Prefix, now time.Time) (string, StoredKey, error) {
	if name == "" || len(name) > 64 {
		return "", StoredKey{}, fmt.Errorf("key name must be 1-64 characters")
	}
	if !ValidRole(role) {
		return "", StoredKey{}, fmt.Errorf("%q is not a role (%s)", role, strings.Join(Roles, ", "))
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
	if name == "" || len(name) > 64 || strings.ContainsAny(name, ":@/ ") {
		return fmt.Errorf("user name must be 1-64 characters without ':', '@', '/' or spaces")
	}
	if !ValidRole(role) {
		return fmt.Errorf("%q is not a role (%s)", role, strings.Join(Roles, ", "))
	}
	if len(password) < MinPasswordLen {
		return fmt.Errorf("password must be at least %d characters", MinPasswordLen)
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
	if len(password) < MinPasswordLen {
		return fmt.Errorf("password must be at least %d characters", MinPasswordLen)
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
