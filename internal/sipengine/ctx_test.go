package sipengine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestCommandsHonourTheirContext: a command whose caller already gave up
// starts nothing.
func TestCommandsHonourTheirContext(t *testing.T) {
	r := newRig(t, 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.eng.Originate(ctx, pbx.OriginateRequest{Tenant: "t", From: "101", To: "102", RingTimeout: time.Second}); !errors.Is(err, context.Canceled) {
		t.Fatalf("originate: %v", err)
	}
	for name, err := range map[string]error{
		"hangup":   r.eng.Hangup(ctx, "t", "1.1", "api"),
		"redirect": r.eng.Redirect(ctx, "t", "1.1", "102"),
		"pickup":   r.eng.Pickup(ctx, "t", "1.1", "102"),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if calls, _ := r.core.Calls("t"); len(calls) != 0 {
		t.Fatalf("calls started: %v", calls)
	}
}
