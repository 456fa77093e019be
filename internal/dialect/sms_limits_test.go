package dialect

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestSMSRates: an account's bucket empties first, then the tenant's;
// -1 is no limit; a minute refills.
func TestSMSRates(t *testing.T) {
	r := (&Service{}).WithSMSLimits(3, 2).smsRates
	now := time.Unix(1e9, 0)
	for i := range 2 {
		if err := r.allow("t", "user:a", now); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := r.allow("t", "user:a", now); !errors.Is(err, pbx.ErrLimit) {
		t.Fatalf("third message a minute by one account: %v", err)
	}
	if err := r.allow("t", "user:b", now); err != nil {
		t.Fatalf("another account: %v", err)
	}
	if err := r.allow("t", "user:c", now); !errors.Is(err, pbx.ErrLimit) {
		t.Fatalf("the tenant's fourth message: %v", err)
	}
	if err := r.allow("u", "user:a", now); err != nil {
		t.Fatalf("another tenant: %v", err)
	}
	if err := r.allow("t", "user:a", now.Add(time.Minute)); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
	free := (&Service{}).WithSMSLimits(-1, -1).smsRates
	for range 1000 {
		if err := free.allow("t", "user:a", now); err != nil {
			t.Fatal(err)
		}
	}
	if d := (&Service{}).WithSMSLimits(0, 0).smsRates; d.perTenant != DefaultSMSPerMinuteTenant || d.perUser != DefaultSMSPerMinuteUser {
		t.Fatalf("defaults %+v", d)
	}
}
