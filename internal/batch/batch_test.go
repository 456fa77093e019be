package batch

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestWritesEverythingInOrderInBatches: every item added before Close is
// written exactly once, in order, in batches no larger than MaxBatch; a
// full queue refuses instead of blocking; Add after Close refuses.
func TestWritesEverythingInOrderInBatches(t *testing.T) {
	var mu sync.Mutex
	var got []int
	biggest := 0
	block := make(chan struct{})
	w := Start(Options[int]{Queue: 100, MaxBatch: 7, Write: func(_ context.Context, items []int) error {
		<-block
		mu.Lock()
		defer mu.Unlock()
		got = append(got, items...)
		biggest = max(biggest, len(items))
		return nil
	}})
	added, refused := 0, 0
	for i := 0; i < 300; i++ {
		if w.Add(added) {
			added++
		} else {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("a full queue accepted everything (it must refuse, not block)")
	}
	close(block)
	w.Close()
	if w.Add(1) {
		t.Fatal("Add after Close accepted")
	}
	if len(got) != added || biggest > 7 {
		t.Fatalf("wrote %d of %d, biggest batch %d", len(got), added, biggest)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d is %d: out of order", i, v)
		}
	}
	w.Close() // twice is fine
}

func TestErrorsReachOnError(t *testing.T) {
	var failed []string
	done := make(chan struct{})
	w := Start(Options[string]{
		Write:   func(context.Context, []string) error { return errors.New("disk full") },
		OnError: func(items []string, err error) { failed = append(failed, items...); close(done) },
	})
	w.Add("a")
	<-done
	w.Close()
	if len(failed) != 1 || failed[0] != "a" {
		t.Fatalf("failed %v", failed)
	}
}
