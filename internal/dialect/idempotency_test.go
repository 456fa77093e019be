package dialect

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestOnce: concurrent duplicates run the action once and share its
// answer; another fingerprint is ErrKeyReused; a failed action leaves the
// key free; bad keys are invalid arguments.
func TestOnce(t *testing.T) {
	s := (&Service{}).WithIdempotency(NewMemoryIdempotency())
	p := auth.Principal{Tenant: "t", Name: "a"}
	ctx := context.Background()
	var runs atomic.Int32
	slow := func(context.Context) ([]byte, error) {
		runs.Add(1)
		time.Sleep(50 * time.Millisecond)
		return []byte("call-1"), nil
	}
	var wg sync.WaitGroup
	var replays atomic.Int32
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, replayed, err := s.Once(ctx, p, "native", "k", "fp", slow)
			if err != nil || string(b) != "call-1" {
				t.Errorf("Once: %q %v", b, err)
			}
			if replayed {
				replays.Add(1)
			}
		}()
	}
	wg.Wait()
	if runs.Load() != 1 || replays.Load() != 4 {
		t.Fatalf("%d runs, %d replays; want 1 and 4", runs.Load(), replays.Load())
	}
	if _, _, err := s.Once(ctx, p, "native", "k", "other", slow); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("another fingerprint: %v", err)
	}
	fail := errors.New("busy")
	if _, _, err := s.Once(ctx, p, "native", "f", "fp", func(context.Context) ([]byte, error) { return nil, fail }); !errors.Is(err, fail) {
		t.Fatalf("failing action: %v", err)
	}
	if b, replayed, err := s.Once(ctx, p, "native", "f", "fp", slow); err != nil || replayed || string(b) != "call-1" {
		t.Fatalf("retry after a failure: %q %v %v", b, replayed, err)
	}
	for _, bad := range []string{"", strings.Repeat("x", 256), "has space", "nul\x00"} {
		if _, _, err := s.Once(ctx, p, "native", bad, "fp", slow); !errors.Is(err, pbx.ErrInvalidArgument) {
			t.Fatalf("key %q: %v", bad, err)
		}
	}
}
