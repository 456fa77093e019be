package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

var _ pbx.RecordingStore = (*Store)(nil)

const recCols = `id, tenant, call_id, src, dst, file, stereo, state, started_by, started, ended, millis, size, error`

// InsertRecording implements pbx.RecordingStore. Recordings are few next to
// CDRs, so they skip the group-commit queue and write directly.
func (s *Store) InsertRecording(ctx context.Context, r *pbx.Recording) error {
	if err := s.open(); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO recording (`+recCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.Tenant, r.CallID, r.Src, r.Dst, r.File, r.Stereo, string(r.State), r.By,
		micros(r.Started), micros(r.Ended), r.Millis, r.Size, r.ErrorMsg)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("sqlite insert recording %s: %w", r.File, store.ErrConflict)
		}
		return fmt.Errorf("sqlite insert recording: %w", err)
	}
	return nil
}

// UpdateRecording implements pbx.RecordingStore: state, end, size and
// duration change; identity does not.
func (s *Store) UpdateRecording(ctx context.Context, r *pbx.Recording) error {
	if err := s.open(); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE recording SET state = ?, ended = ?, millis = ?, size = ?, error = ? WHERE tenant = ? AND id = ?`,
		string(r.State), micros(r.Ended), r.Millis, r.Size, r.ErrorMsg, r.Tenant, r.ID)
	if err != nil {
		return fmt.Errorf("sqlite update recording: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite update recording %s: %w", r.ID, store.ErrNotFound)
	}
	return nil
}

func scanRecording(sc interface{ Scan(...any) error }) (pbx.Recording, error) {
	var r pbx.Recording
	var state string
	var started, ended int64
	err := sc.Scan(&r.ID, &r.Tenant, &r.CallID, &r.Src, &r.Dst, &r.File, &r.Stereo, &state, &r.By,
		&started, &ended, &r.Millis, &r.Size, &r.ErrorMsg)
	r.State, r.Started, r.Ended = pbx.RecordingState(state), fromMicros(started), fromMicros(ended)
	return r, err
}

// GetRecording implements pbx.RecordingStore.
func (s *Store) GetRecording(ctx context.Context, tenant, id string) (pbx.Recording, error) {
	r, err := scanRecording(s.r.QueryRowContext(ctx, `SELECT `+recCols+` FROM recording WHERE tenant = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return pbx.Recording{}, store.ErrNotFound
	}
	if err != nil {
		return pbx.Recording{}, fmt.Errorf("sqlite get recording: %w", err)
	}
	return r, nil
}

// QueryRecordings implements pbx.RecordingStore, newest first.
func (s *Store) QueryRecordings(ctx context.Context, f pbx.RecordingFilter) ([]pbx.Recording, int, error) {
	cf, err := store.NormalizeFilter(pbx.CDRFilter{Limit: f.Limit, Offset: f.Offset, From: f.From, To: f.To})
	if err != nil {
		return nil, 0, err
	}
	conds, args := []string{"tenant = ?"}, []any{f.Tenant}
	if f.CallID != "" {
		conds, args = append(conds, "call_id = ?"), append(args, f.CallID)
	}
	if f.File != "" {
		conds, args = append(conds, "file = ?"), append(args, f.File)
	}
	if f.Number != "" {
		conds, args = append(conds, "(src = ? OR dst = ?)"), append(args, f.Number, f.Number)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "started >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "started < ?"), append(args, micros(f.To))
	}
	w := strings.Join(conds, " AND ")
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM recording WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite count recordings: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+recCols+` FROM recording WHERE `+w+` ORDER BY started DESC, id LIMIT ? OFFSET ?`,
		append(args, cf.Limit, cf.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite query recordings: %w", err)
	}
	defer rows.Close()
	out := []pbx.Recording{}
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite scan recording: %w", err)
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// UnfinishedRecordings implements pbx.RecordingStore.
func (s *Store) UnfinishedRecordings(ctx context.Context) ([]pbx.Recording, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+recCols+` FROM recording WHERE state IN ('recording', 'paused')`)
	if err != nil {
		return nil, fmt.Errorf("sqlite unfinished recordings: %w", err)
	}
	defer rows.Close()
	var out []pbx.Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite scan recording: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) open() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}
