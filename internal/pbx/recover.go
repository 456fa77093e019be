package pbx

import (
	"context"
	"fmt"
	"time"
)

// RecordInterrupted writes the CDR of a call that was live when the
// process died, from what the event log knew of it, and publishes its
// call.ended (so the log shows it ended and the next start does not bill
// it again). The CDR ends at last, the latest moment the call is known to
// have been up; an answered call bills until then. The call need not be
// live in this process.
func (c *Core) RecordInterrupted(ctx context.Context, call Call, last time.Time) (CDR, error) {
	c.mu.Lock()
	t := c.tenants[call.Tenant]
	c.mu.Unlock()
	if t == nil || len(call.Channels) == 0 {
		return CDR{}, fmt.Errorf("record interrupted call %s: %w", call.ID, ErrNotFound)
	}
	if last.Before(call.Created) {
		last = call.Created
	}
	cs := &callState{call: call}
	for i := range call.Channels {
		cs.channels = append(cs.channels, &call.Channels[i])
	}
	cdr := c.cdrOf(cs, EndInterrupted, Quality{HangupBy: "system"}, last)
	if err := c.cdrs.InsertCDR(ctx, &cdr); err != nil {
		return cdr, fmt.Errorf("record interrupted call %s: %w", call.ID, err)
	}
	c.mu.Lock()
	snap := cs.snapshot()
	c.publishLocked(call.Tenant, Event{Type: EvCallEnded, Call: snap, CDR: &cdr, Cause: string(EndInterrupted)})
	c.mu.Unlock()
	return cdr, nil
}
