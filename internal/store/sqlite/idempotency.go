package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

var _ dialect.IdempotencyStore = (*Store)(nil)

// ClaimKey implements dialect.IdempotencyStore. One statement decides the
// claim, so two processes (or two racing requests) never both win: the
// insert happens when no row exists, and the upsert replaces a row only
// when it expired or is a stale pending claim.
func (s *Store) ClaimKey(ctx context.Context, k dialect.IdemKey, fingerprint string, now time.Time, ttl, stale time.Duration) (dialect.IdemRecord, bool, error) {
	if err := s.open(); err != nil {
		return dialect.IdemRecord{}, false, err
	}
	nowUS := micros(now)
	res, err := s.w.ExecContext(ctx, `INSERT INTO idempotency_keys (tenant, owner, scope, key, fingerprint, done, body, created)
		VALUES (?,?,?,?,?,0,NULL,?)
		ON CONFLICT (tenant, owner, scope, key) DO UPDATE
		SET fingerprint = excluded.fingerprint, done = 0, body = NULL, created = excluded.created
		WHERE idempotency_keys.created < ? OR (idempotency_keys.done = 0 AND idempotency_keys.created < ?)`,
		k.Tenant, k.Owner, k.Scope, k.Key, fingerprint, nowUS, micros(now.Add(-ttl)), micros(now.Add(-stale)))
	if err != nil {
		return dialect.IdemRecord{}, false, fmt.Errorf("sqlite claim key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dialect.IdemRecord{}, false, fmt.Errorf("sqlite claim key: %w", err)
	}
	if n == 1 {
		s.pruneKeys(ctx, now.Add(-ttl))
		return dialect.IdemRecord{Fingerprint: fingerprint, Created: now}, true, nil
	}
	var rec dialect.IdemRecord
	var done int
	var created int64
	err = s.w.QueryRowContext(ctx, `SELECT fingerprint, done, body, created FROM idempotency_keys
		WHERE tenant = ? AND owner = ? AND scope = ? AND key = ?`, k.Tenant, k.Owner, k.Scope, k.Key).
		Scan(&rec.Fingerprint, &done, &rec.Body, &created)
	if errors.Is(err, sql.ErrNoRows) { // released between the two statements
		return s.ClaimKey(ctx, k, fingerprint, now, ttl, stale)
	}
	if err != nil {
		return dialect.IdemRecord{}, false, fmt.Errorf("sqlite read key: %w", err)
	}
	rec.Done, rec.Created = done != 0, fromMicros(created)
	return rec, false, nil
}

// pruneKeys drops expired keys now and then (at most once a minute), so
// the table holds about a day of keys without a sweeper of its own.
func (s *Store) pruneKeys(ctx context.Context, before time.Time) {
	last := s.keysPruned.Load()
	if now := time.Now().Unix(); now-last < 60 || !s.keysPruned.CompareAndSwap(last, now) {
		return
	}
	_, _ = s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created < ?`, micros(before))
}

// CompleteKey implements dialect.IdempotencyStore.
func (s *Store) CompleteKey(ctx context.Context, k dialect.IdemKey, body []byte) error {
	if err := s.open(); err != nil {
		return err
	}
	if body == nil {
		body = []byte{}
	}
	_, err := s.w.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, body = ?
		WHERE tenant = ? AND owner = ? AND scope = ? AND key = ?`, body, k.Tenant, k.Owner, k.Scope, k.Key)
	if err != nil {
		return fmt.Errorf("sqlite complete key: %w", err)
	}
	return nil
}

// ReleaseKey implements dialect.IdempotencyStore.
func (s *Store) ReleaseKey(ctx context.Context, k dialect.IdemKey) error {
	if err := s.open(); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE tenant = ? AND owner = ? AND scope = ? AND key = ? AND done = 0`,
		k.Tenant, k.Owner, k.Scope, k.Key)
	if err != nil {
		return fmt.Errorf("sqlite release key: %w", err)
	}
	return nil
}
