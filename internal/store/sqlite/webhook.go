package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/store"
	"github.com/switchboard-pbx/switchboard/internal/webhook"
)

var _ webhook.Store = (*Store)(nil)

// InsertDeadLetter implements webhook.Store.
func (s *Store) InsertDeadLetter(ctx context.Context, d *webhook.DeadLetter) error {
	if err := s.open(); err != nil {
		return err
	}
	// Numbered within the tenant (see migration 0009).
	err := s.w.QueryRowContext(ctx, `INSERT INTO webhook_dead (tenant_id, tenant, hook, url, seq, type, body, attempts, last_error, time)
		VALUES ((SELECT coalesce(max(tenant_id), 0) + 1 FROM webhook_dead WHERE tenant = ?1), ?1,?,?,?,?,?,?,?,?) RETURNING tenant_id`,
		d.Tenant, d.Hook, d.URL, int64(d.Seq), d.Type, d.Body, d.Attempts, d.LastError, micros(d.Time)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("sqlite dead letter: %w", err)
	}
	return nil
}

const deadCols = `tenant_id, tenant, hook, url, seq, type, body, attempts, last_error, time`

func scanDead(sc interface{ Scan(...any) error }) (webhook.DeadLetter, error) {
	var d webhook.DeadLetter
	var seq, t int64
	err := sc.Scan(&d.ID, &d.Tenant, &d.Hook, &d.URL, &seq, &d.Type, &d.Body, &d.Attempts, &d.LastError, &t)
	d.Seq, d.Time = uint64(seq), fromMicros(t)
	return d, err
}

// DeadLetters implements webhook.Store, newest first.
func (s *Store) DeadLetters(ctx context.Context, tenant string, limit int) ([]webhook.DeadLetter, error) {
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.DefaultLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+deadCols+` FROM webhook_dead WHERE tenant = ? ORDER BY tenant_id DESC LIMIT ?`, tenant, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite dead letters: %w", err)
	}
	defer rows.Close()
	out := []webhook.DeadLetter{}
	for rows.Next() {
		d, err := scanDead(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite dead letters: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TakeDeadLetter implements webhook.Store: it removes and returns one.
func (s *Store) TakeDeadLetter(ctx context.Context, tenant string, id int64) (webhook.DeadLetter, error) {
	if err := s.open(); err != nil {
		return webhook.DeadLetter{}, err
	}
	d, err := scanDead(s.w.QueryRowContext(ctx, `DELETE FROM webhook_dead WHERE tenant = ? AND tenant_id = ? RETURNING `+deadCols, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.DeadLetter{}, store.ErrNotFound
	}
	if err != nil {
		return webhook.DeadLetter{}, fmt.Errorf("sqlite take dead letter: %w", err)
	}
	return d, nil
}
