package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/devices"
)

var _ devices.VirtualStore = (*Store)(nil)

// RelayState implements devices.VirtualStore: a relay never switched is off.
func (s *Store) RelayState(ctx context.Context, tenant string, id int) (bool, error) {
	var st int
	err := s.r.QueryRowContext(ctx, `SELECT state FROM relay_state WHERE tenant = ? AND id = ?`, tenant, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite relay state: %w", err)
	}
	return st != 0, nil
}

// SetRelayState implements devices.VirtualStore.
func (s *Store) SetRelayState(ctx context.Context, tenant string, id int, on bool) error {
	if err := s.open(); err != nil {
		return err
	}
	st := 0
	if on {
		st = 1
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO relay_state (tenant, id, state, changed) VALUES (?,?,?,?)
		ON CONFLICT (tenant, id) DO UPDATE SET state = excluded.state, changed = excluded.changed`, tenant, id, st, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("sqlite set relay state: %w", err)
	}
	return nil
}
