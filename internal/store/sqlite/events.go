package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// AppendEvents writes a batch of events in one transaction. A sequence
// number already present is skipped (a replayed batch after a crash).
func (s *Store) AppendEvents(ctx context.Context, es []pbx.StoredEvent) error {
	if err := s.open(); err != nil {
		return err
	}
	tx, err := s.logw.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite event log: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO event_log (tenant, seq, time, type, call_id, body) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("sqlite event log: %w", err)
	}
	defer st.Close()
	for _, e := range es {
		var call any
		if e.CallID != "" {
			call = e.CallID
		}
		if _, err := st.ExecContext(ctx, e.Tenant, int64(e.Seq), micros(e.Time), string(e.Type), call, e.Body); err != nil {
			return fmt.Errorf("sqlite event log: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite event log: commit: %w", err)
	}
	return nil
}

// EventsSince returns up to limit events of tenant with seq > since, in order.
func (s *Store) EventsSince(ctx context.Context, tenant string, since uint64, limit int) ([]pbx.StoredEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, time, type, body FROM event_log WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?`,
		tenant, int64(since), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite events since: %w", err)
	}
	defer rows.Close()
	var out []pbx.StoredEvent
	for rows.Next() {
		e := pbx.StoredEvent{Tenant: tenant}
		var seq, t int64
		var typ string
		if err := rows.Scan(&seq, &t, &typ, &e.Body); err != nil {
			return nil, fmt.Errorf("sqlite events since: %w", err)
		}
		e.Seq, e.Time, e.Type = uint64(seq), fromMicros(t), pbx.EventType(typ)
		out = append(out, e)
	}
	return out, rows.Err()
}

// OldestEventSeq is the first sequence number still kept for tenant (0:
// none kept).
func (s *Store) OldestEventSeq(ctx context.Context, tenant string) (uint64, error) {
	var v *int64
	if err := s.r.QueryRowContext(ctx, `SELECT min(seq) FROM event_log WHERE tenant = ?`, tenant).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite oldest event: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return uint64(*v), nil
}

// LastEventSeqs returns each tenant's highest logged sequence number.
func (s *Store) LastEventSeqs(ctx context.Context) (map[string]uint64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant, max(seq) FROM event_log GROUP BY tenant`)
	if err != nil {
		return nil, fmt.Errorf("sqlite last events: %w", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var t string
		var seq int64
		if err := rows.Scan(&t, &seq); err != nil {
			return nil, err
		}
		out[t] = uint64(seq)
	}
	return out, rows.Err()
}

// PruneEvents deletes events older than before. Retention is by age; a
// replaying client asking for more than is kept is told what was cut.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	// Each tenant's newest event stays whatever its age: it carries the
	// sequence number the next start continues from.
	res, err := s.logw.ExecContext(ctx, `DELETE FROM event_log WHERE time < ?
		AND seq < (SELECT max(seq) FROM event_log AS newest WHERE newest.tenant = event_log.tenant)`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite prune events: %w", err)
	}
	return res.RowsAffected()
}

// CallEventsSince returns the call and channel lifecycle events of every
// tenant logged at or after since, in each tenant's order: what start-up
// needs to find calls a crash left without an end.
func (s *Store) CallEventsSince(ctx context.Context, since time.Time) ([]pbx.StoredEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant, seq, time, type, body FROM event_log
		WHERE time >= ? AND type IN (?,?,?,?,?,?,?) ORDER BY tenant, seq`, micros(since),
		string(pbx.EvCallNew), string(pbx.EvCallAnswered), string(pbx.EvCallEnded), string(pbx.EvCallTransferred),
		string(pbx.EvChannelNew), string(pbx.EvChannelState), string(pbx.EvChannelHangup))
	if err != nil {
		return nil, fmt.Errorf("sqlite call events: %w", err)
	}
	defer rows.Close()
	var out []pbx.StoredEvent
	for rows.Next() {
		var e pbx.StoredEvent
		var seq, t int64
		var typ string
		if err := rows.Scan(&e.Tenant, &seq, &t, &typ, &e.Body); err != nil {
			return nil, fmt.Errorf("sqlite call events: %w", err)
		}
		e.Seq, e.Time, e.Type = uint64(seq), fromMicros(t), pbx.EventType(typ)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CallEvents returns the events of one call in order (at most limit),
// from the call_id index.
func (s *Store) CallEvents(ctx context.Context, tenant, callID string, limit int) ([]pbx.StoredEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, time, type, body FROM event_log WHERE tenant = ? AND call_id = ? ORDER BY seq LIMIT ?`,
		tenant, callID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite call events: %w", err)
	}
	defer rows.Close()
	var out []pbx.StoredEvent
	for rows.Next() {
		e := pbx.StoredEvent{Tenant: tenant, CallID: callID}
		var seq, t int64
		var typ string
		if err := rows.Scan(&seq, &t, &typ, &e.Body); err != nil {
			return nil, fmt.Errorf("sqlite call events: %w", err)
		}
		e.Seq, e.Time, e.Type = uint64(seq), fromMicros(t), pbx.EventType(typ)
		out = append(out, e)
	}
	return out, rows.Err()
}
