package dialect

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// WaitStreams waits for a dialect's long responses (event or camera
// streams) to end, bounded by ctx. With none open it succeeds even when
// ctx has already run out (the node's shutdown may have spent it on
// hanging up calls): a select over both ready channels would pick either.
func WaitStreams(ctx context.Context, streams *sync.WaitGroup, what string) error {
	done := make(chan struct{})
	go func() { streams.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Millisecond):
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s still open: %w", what, ctx.Err())
	}
}
