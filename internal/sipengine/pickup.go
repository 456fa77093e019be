package sipengine

import (
	"context"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var _ pbx.Picker = (*Engine)(nil)

func (c *call) setPickable(v bool) {
	c.e.mu.Lock()
	c.pickable = v
	c.e.mu.Unlock()
}

// Pickup implements pbx.Picker: the inbound call whose channel uniqueID
// rings is taken by extension by instead; the ringing device stops
// ringing (CANCEL) and by is called, answering the caller when it answers.
func (e *Engine) Pickup(ctx context.Context, tenant, uniqueID, by string) error {
	if err := ctx.Err(); err != nil { // the caller gave up: start nothing
		return fmt.Errorf("pickup: %w", err)
	}
	e.mu.Lock()
	var found *call
	for _, c := range e.calls {
		if c.t.Name != tenant {
			continue
		}
		for _, id := range c.chanIDs {
			if id == uniqueID {
				found = c
			}
		}
	}
	pickable := found != nil && found.pickable
	e.mu.Unlock()
	if found == nil {
		return fmt.Errorf("pickup %s: %w", uniqueID, pbx.ErrNotFound)
	}
	if !pickable {
		return fmt.Errorf("pickup %s: the call is not ringing: %w", uniqueID, pbx.ErrInvalidArgument)
	}
	tgt, status, _ := e.route(found.t, by)
	if status != "" || tgt.ext == nil {
		return fmt.Errorf("pickup by %s: not a registered extension: %w", by, pbx.ErrUnavailable)
	}
	select {
	case found.pickup <- tgt:
		return nil
	default:
		return fmt.Errorf("pickup %s: already being picked up: %w", uniqueID, pbx.ErrBusy)
	}
}
