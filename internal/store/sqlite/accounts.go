package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

var _ auth.Accounts = (*Store)(nil)

func joinPrefixes(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ",")
}

func splitPrefixes(s string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func isUnique(err error) bool { return err != nil && strings.Contains(err.Error(), "UNIQUE") }

// CreateUser implements auth.Accounts.
func (s *Store) CreateUser(ctx context.Context, u auth.StoredUser) error {
	if err := s.open(); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO account_user (tenant, name, password_hash, role, extension, allow_from, created, changed, viptel_sha1) VALUES (?,?,?,?,?,?,?,?,?)`,
		u.Tenant, u.Name, u.PasswordHash, u.Role, u.Extension, joinPrefixes(u.AllowFrom), micros(u.Created), micros(u.Changed), u.VIPTelVerifier)
	if isUnique(err) {
		return fmt.Errorf("user %s: %w", u.Name, auth.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite create user: %w", err)
	}
	return nil
}

const userCols = `tenant, name, password_hash, role, extension, allow_from, created, changed, viptel_sha1, disabled`

func scanUser(sc interface{ Scan(...any) error }) (auth.StoredUser, error) {
	var u auth.StoredUser
	var allow string
	var c, ch int64
	err := sc.Scan(&u.Tenant, &u.Name, &u.PasswordHash, &u.Role, &u.Extension, &allow, &c, &ch, &u.VIPTelVerifier, &u.Disabled)
	u.AllowFrom, u.Created, u.Changed = splitPrefixes(allow), fromMicros(c), fromMicros(ch)
	return u, err
}

// GetUser implements auth.Accounts.
func (s *Store) GetUser(ctx context.Context, tenant, name string) (auth.StoredUser, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM account_user WHERE tenant = ? AND name = ?`, tenant, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, auth.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("sqlite get user: %w", err)
	}
	return u, nil
}

func (s *Store) queryUsers(ctx context.Context, q string, args ...any) ([]auth.StoredUser, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM account_user WHERE `+q+` ORDER BY tenant, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite users: %w", err)
	}
	defer rows.Close()
	out := []auth.StoredUser{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// FindUsers implements auth.Accounts.
func (s *Store) FindUsers(ctx context.Context, name string) ([]auth.StoredUser, error) {
	return s.queryUsers(ctx, `name = ?`, name)
}

// ListUsers implements auth.Accounts.
func (s *Store) ListUsers(ctx context.Context, tenant string) ([]auth.StoredUser, error) {
	return s.queryUsers(ctx, `tenant = ?`, tenant)
}

// SetPassword implements auth.Accounts.
func (s *Store) SetPassword(ctx context.Context, tenant, name, hash, viptel string, at time.Time) error {
	if err := s.open(); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE account_user SET password_hash = ?, viptel_sha1 = ?, changed = ? WHERE tenant = ? AND name = ?`, hash, viptel, micros(at), tenant, name)
	if err != nil {
		return fmt.Errorf("sqlite set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// SetDisabled implements auth.Accounts.
func (s *Store) SetDisabled(ctx context.Context, tenant, name, reason string) error {
	if err := s.open(); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE account_user SET disabled = ? WHERE tenant = ? AND name = ?`, reason, tenant, name)
	if err != nil {
		return fmt.Errorf("sqlite set disabled: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// CreateKey implements auth.Accounts.
func (s *Store) CreateKey(ctx context.Context, k *auth.StoredKey) error {
	if err := s.open(); err != nil {
		return err
	}
	// Numbered within the tenant (migration 0011); keys are revoked, never
	// deleted, so a number is never reused.
	err := s.w.QueryRowContext(ctx, `INSERT INTO api_key (tenant_id, tenant, name, sha256, prefix, role, allow_from, created, expires)
		VALUES ((SELECT coalesce(max(tenant_id), 0) + 1 FROM api_key WHERE tenant = ?1), ?1,?,?,?,?,?,?,?) RETURNING tenant_id`,
		k.Tenant, k.Name, k.SHA256, k.Prefix, k.Role, joinPrefixes(k.AllowFrom), micros(k.Created), micros(k.Expires)).Scan(&k.ID)
	if isUnique(err) {
		return fmt.Errorf("key: %w", auth.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite create key: %w", err)
	}
	return nil
}

const keyCols = `tenant_id, tenant, name, sha256, prefix, role, allow_from, created, expires, revoked, last_used`

func scanKey(sc interface{ Scan(...any) error }) (auth.StoredKey, error) {
	var k auth.StoredKey
	var allow string
	var c, e, r, l int64
	err := sc.Scan(&k.ID, &k.Tenant, &k.Name, &k.SHA256, &k.Prefix, &k.Role, &allow, &c, &e, &r, &l)
	k.AllowFrom, k.Created, k.Expires, k.Revoked, k.LastUsed = splitPrefixes(allow), fromMicros(c), fromMicros(e), fromMicros(r), fromMicros(l)
	return k, err
}

// KeyBySHA256 implements auth.Accounts.
func (s *Store) KeyBySHA256(ctx context.Context, sum string) (auth.StoredKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_key WHERE sha256 = ?`, sum))
	if errors.Is(err, sql.ErrNoRows) {
		return k, auth.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("sqlite key: %w", err)
	}
	return k, nil
}

// ListKeys implements auth.Accounts.
func (s *Store) ListKeys(ctx context.Context, tenant string) ([]auth.StoredKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyCols+` FROM api_key WHERE tenant = ? ORDER BY tenant_id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlite keys: %w", err)
	}
	defer rows.Close()
	out := []auth.StoredKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey implements auth.Accounts.
func (s *Store) RevokeKey(ctx context.Context, tenant string, id int64, at time.Time) error {
	if err := s.open(); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE api_key SET revoked = ? WHERE tenant = ? AND tenant_id = ? AND revoked = 0`, micros(at), tenant, id)
	if err != nil {
		return fmt.Errorf("sqlite revoke key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// TouchKey implements auth.Accounts.
func (s *Store) TouchKey(ctx context.Context, tenant string, id int64, at time.Time) error {
	if err := s.open(); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `UPDATE api_key SET last_used = ? WHERE tenant = ? AND tenant_id = ?`, micros(at), tenant, id)
	return err
}
