package auth

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// recordingAccounts accepts creations and remembers them.
type recordingAccounts struct {
	Accounts
	users []StoredUser
	keys  []StoredKey
}

func (r *recordingAccounts) CreateUser(_ context.Context, u StoredUser) error {
	r.users = append(r.users, u)
	return nil
}

func (r *recordingAccounts) CreateKey(_ context.Context, k *StoredKey) error {
	r.keys = append(r.keys, *k)
	return nil
}

// TestNamesAreRefused: NUL, control characters, CR/LF, separators and
// overlong names never become users or keys (issue 9, item 6).
func TestNamesAreRefused(t *testing.T) {
	bad := []string{"", "a\x00b", "a\r\nX-Injected: 1", "tab\there", "bell\x07", "del\x7f", "sp ace", "a@tenant", "t/a", "a:b",
		".hidden", "-flag", "ünïcode", strings.Repeat("a", MaxNameLen+1)}
	for _, n := range bad {
		if err := ValidUserName(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("user name %q: %v", n, err)
		}
	}
	for _, n := range []string{"admin", "1001", "jan.novak", "j_n-2", strings.Repeat("a", MaxNameLen)} {
		if err := ValidUserName(n); err != nil {
			t.Errorf("user name %q: %v", n, err)
		}
	}
	for _, n := range []string{"", "a\x00b", "crm\r\n", "trailing ", " leading", strings.Repeat("k", MaxNameLen+1)} {
		if err := ValidKeyName(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("key name %q: %v", n, err)
		}
	}
	for _, n := range []string{"crm", "CRM integration", "crm@office"} {
		if err := ValidKeyName(n); err != nil {
			t.Errorf("key name %q: %v", n, err)
		}
	}
	acc := &recordingAccounts{}
	ctx, now := context.Background(), time.Now()
	if err := CreateUser(ctx, acc, "t", "a\nb", "long-enough-1", "user", "", now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := CreateUser(ctx, acc, "t", "ok", "long-enough-1", "user", "10\r\n01", now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateUser extension: %v", err)
	}
	if err := CreateUser(ctx, acc, "t", "ok", strings.Repeat("p", MaxPasswordLen+1), "user", "", now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateUser long password: %v", err)
	}
	if _, _, err := CreateKey(ctx, acc, "t", "k\x00", "readonly", 0, nil, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateKey: %v", err)
	}
	if len(acc.users)+len(acc.keys) != 0 {
		t.Fatalf("stored %v %v", acc.users, acc.keys)
	}
}

// TestKeyLifetimeIsBounded: negative and over-ten-year lifetimes are
// refused; 0 still means "never expires" and the bound itself is allowed
// (issue 9, item 9).
func TestKeyLifetimeIsBounded(t *testing.T) {
	acc := &recordingAccounts{}
	ctx, now := context.Background(), time.Unix(1_800_000_000, 0)
	for _, ttl := range []time.Duration{-time.Second, MaxKeyTTL + time.Second, math.MaxInt64, math.MinInt64} {
		if _, _, err := CreateKey(ctx, acc, "t", "k", "readonly", ttl, nil, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("ttl %v: %v", ttl, err)
		}
	}
	for _, ttl := range []time.Duration{0, time.Hour, MaxKeyTTL} {
		_, k, err := CreateKey(ctx, acc, "t", "k", "readonly", ttl, nil, now)
		if err != nil || (ttl == 0) != k.Expires.IsZero() || (ttl != 0 && !k.Expires.Equal(now.Add(ttl))) {
			t.Errorf("ttl %v: %+v %v", ttl, k, err)
		}
	}
}

// TestConfiguredNamesAreValidated: users and keys from the configuration
// enter through NewDirectory and obey the same name rules.
func TestConfiguredNamesAreValidated(t *testing.T) {
	for _, tc := range []struct {
		users []User
		keys  []APIKey
	}{
		{users: []User{{Tenant: "t", Name: "eve\r\nX: 1", PasswordHash: "$argon2id$x", Role: "user"}}},
		{users: []User{{Tenant: "t", Name: "jan@firma", PasswordHash: "$argon2id$x", Role: "user"}}},
		{keys: []APIKey{{Tenant: "t", Name: "crm\x00", KeySHA256: strings.Repeat("0", 64), Role: "admin"}}},
	} {
		if _, err := NewDirectory(tc.users, tc.keys, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v %+v: %v", tc.users, tc.keys, err)
		}
	}
}
