package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

var _ sms.Store = (*Store)(nil)

// Messages are written through the FULL-sync connection: a message the
// API answered "QUEUE" for must survive a power cut.
const smsCols = `tenant, id, owner, sender, recipient, body, state, queued, accepted, sent, done, updated,
 attempts, next_attempt, error, driver, ref, rated, cost, zone`

func smsArgs(m *sms.Message) []any {
	return []any{m.Tenant, m.ID, m.Owner, m.From, m.To, m.Body, string(m.State), micros(m.Queued), micros(m.Accepted),
		micros(m.Sent), micros(m.Done), micros(m.Updated), m.Attempts, micros(m.NextAttempt), m.Error, m.Driver, m.Ref,
		m.Rated, m.Cost, m.Zone}
}

func scanSMS(sc interface{ Scan(...any) error }) (sms.Message, error) {
	var m sms.Message
	var st string
	var q, a, s, d, u, n int64
	err := sc.Scan(&m.Tenant, &m.ID, &m.Owner, &m.From, &m.To, &m.Body, &st, &q, &a, &s, &d, &u, &m.Attempts, &n,
		&m.Error, &m.Driver, &m.Ref, &m.Rated, &m.Cost, &m.Zone)
	m.State = sms.State(st)
	m.Queued, m.Accepted, m.Sent, m.Done, m.Updated, m.NextAttempt = fromMicros(q), fromMicros(a), fromMicros(s), fromMicros(d), fromMicros(u), fromMicros(n)
	return m, err
}

// InsertSMS implements sms.Store.
func (s *Store) InsertSMS(ctx context.Context, m *sms.Message) error {
	if err := s.open(); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO sms (`+smsCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, smsArgs(m)...)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("sqlite insert sms %s: %w", m.ID, store.ErrConflict)
		}
		return fmt.Errorf("sqlite insert sms %s: %w", m.ID, err)
	}
	return nil
}

// UpdateSMS implements sms.Store.
func (s *Store) UpdateSMS(ctx context.Context, m *sms.Message) error {
	if err := s.open(); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE sms SET state = ?, accepted = ?, sent = ?, done = ?, updated = ?, attempts = ?,
		next_attempt = ?, error = ?, driver = ?, ref = ?, rated = ?, cost = ?, zone = ? WHERE tenant = ? AND id = ?`,
		string(m.State), micros(m.Accepted), micros(m.Sent), micros(m.Done), micros(m.Updated), m.Attempts,
		micros(m.NextAttempt), m.Error, m.Driver, m.Ref, m.Rated, m.Cost, m.Zone, m.Tenant, m.ID)
	if err != nil {
		return fmt.Errorf("sqlite update sms %s: %w", m.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite update sms %s: %w", m.ID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) oneSMS(ctx context.Context, where string, args ...any) (sms.Message, error) {
	m, err := scanSMS(s.r.QueryRowContext(ctx, `SELECT `+smsCols+` FROM sms WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return sms.Message{}, store.ErrNotFound
	}
	if err != nil {
		return sms.Message{}, fmt.Errorf("sqlite get sms: %w", err)
	}
	return m, nil
}

// GetSMS implements sms.Store.
func (s *Store) GetSMS(ctx context.Context, tenant, id string) (sms.Message, error) {
	return s.oneSMS(ctx, `tenant = ? AND id = ?`, tenant, id)
}

// SMSByRef implements sms.Store.
func (s *Store) SMSByRef(ctx context.Context, tenant, ref string) (sms.Message, error) {
	if ref == "" {
		return sms.Message{}, store.ErrNotFound
	}
	return s.oneSMS(ctx, `tenant = ? AND ref = ? ORDER BY queued DESC LIMIT 1`, tenant, ref)
}

// QuerySMS implements sms.Store.
func (s *Store) QuerySMS(ctx context.Context, f sms.Filter) ([]sms.Message, int, error) {
	if f.Limit < 0 || f.Offset < 0 {
		return nil, 0, fmt.Errorf("negative limit or offset: %w", store.ErrInvalidFilter)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return nil, 0, fmt.Errorf("'to' is before 'from': %w", store.ErrInvalidFilter)
	}
	if f.Limit == 0 {
		f.Limit = store.DefaultLimit
	}
	if f.Limit > store.MaxLimit {
		f.Limit = store.MaxLimit
	}
	where := []string{"tenant = ?"}
	args := []any{f.Tenant}
	if f.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, f.Owner)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if !f.From.IsZero() {
		where, args = append(where, "queued >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "queued < ?"), append(args, micros(f.To))
	}
	w := strings.Join(where, " AND ")
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sms WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite count sms: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+smsCols+` FROM sms WHERE `+w+` ORDER BY queued DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite query sms: %w", err)
	}
	defer rows.Close()
	var out []sms.Message
	for rows.Next() {
		m, err := scanSMS(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite scan sms: %w", err)
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

// PendingSMS implements sms.Store.
func (s *Store) PendingSMS(ctx context.Context) ([]sms.Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+smsCols+` FROM sms WHERE state IN ('QUEUE', 'RENEWAL', 'ACCEPTED', 'SENT') ORDER BY queued`)
	if err != nil {
		return nil, fmt.Errorf("sqlite pending sms: %w", err)
	}
	defer rows.Close()
	var out []sms.Message
	for rows.Next() {
		m, err := scanSMS(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite scan sms: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
