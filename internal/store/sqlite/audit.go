package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

var _ audit.Store = (*Store)(nil)

// InsertAudit implements audit.Store: one transaction per batch.
func (s *Store) InsertAudit(ctx context.Context, es []audit.Entry) error {
	if err := s.open(); err != nil {
		return err
	}
	tx, err := s.logw.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite audit: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO audit_log (time, tenant, principal, role, api_key, remote, dialect, action, target, status, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("sqlite audit: %w", err)
	}
	defer st.Close()
	for _, e := range es {
		if _, err := st.ExecContext(ctx, micros(e.Time), e.Tenant, e.Principal, e.Role, e.APIKey, e.Remote, e.Dialect, e.Action, e.Target, e.Status, e.Reason); err != nil {
			return fmt.Errorf("sqlite audit: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite audit: commit: %w", err)
	}
	return nil
}

// QueryAudit implements audit.Store, newest first.
func (s *Store) QueryAudit(ctx context.Context, f audit.Filter) ([]audit.Entry, int, error) {
	cf, err := store.NormalizeFilter(pbx.CDRFilter{Limit: f.Limit, Offset: f.Offset, From: f.From, To: f.To})
	if err != nil {
		return nil, 0, err
	}
	conds, args := []string{"tenant = ?"}, []any{f.Tenant}
	if f.Principal != "" {
		conds, args = append(conds, "principal = ?"), append(args, f.Principal)
	}
	if f.Action != "" {
		conds, args = append(conds, "substr(action, 1, ?) = ?"), append(args, len(f.Action), f.Action)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "time < ?"), append(args, micros(f.To))
	}
	w := strings.Join(conds, " AND ")
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite audit count: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, time, tenant, principal, role, api_key, remote, dialect, action, target, status, reason
		FROM audit_log WHERE `+w+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, cf.Limit, cf.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite audit query: %w", err)
	}
	defer rows.Close()
	out := []audit.Entry{}
	for rows.Next() {
		var e audit.Entry
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Tenant, &e.Principal, &e.Role, &e.APIKey, &e.Remote, &e.Dialect, &e.Action, &e.Target, &e.Status, &e.Reason); err != nil {
			return nil, 0, fmt.Errorf("sqlite audit scan: %w", err)
		}
		e.Time = fromMicros(t)
		out = append(out, e)
	}
	return out, total, rows.Err()
}
