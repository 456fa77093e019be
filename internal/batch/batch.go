// Package batch writes items in order, in batches, from one goroutine, so
// that recording them never slows the caller down and a database sees one
// transaction per batch instead of one per item. The audit log, the queue
// log and the event log write through it. It does no I/O itself; anything
// may import it.
package batch

import (
	"context"
	"sync"
	"time"
)

// Options configure a Writer.
type Options[T any] struct {
	// Write stores one batch, in order. Required.
	Write func(ctx context.Context, items []T) error
	// OnError is told of a batch Write failed (after the write's own
	// timeout); the items are not retried.
	OnError func(items []T, err error)
	// Queue bounds items waiting (default 4096); MaxBatch bounds one
	// Write (default 256); Timeout bounds one Write (default 30 s).
	Queue    int
	MaxBatch int
	Timeout  time.Duration
}

// Writer queues items for its goroutine. Build it with Start.
type Writer[T any] struct {
	opts Options[T]
	ch   chan T
	done chan struct{}

	mu     sync.RWMutex // orders Add against Close
	closed bool
}

// Start begins writing; Close drains and stops.
func Start[T any](opts Options[T]) *Writer[T] {
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.OnError == nil {
		opts.OnError = func([]T, error) {}
	}
	w := &Writer[T]{opts: opts, ch: make(chan T, opts.Queue), done: make(chan struct{})}
	go w.run()
	return w
}

// Add queues v without blocking. It reports false when the queue is full
// or the writer closed: the caller decides where the item goes then.
func (w *Writer[T]) Add(v T) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return false
	}
	select {
	case w.ch <- v:
		return true
	default:
		return false
	}
}

// Close writes what is queued and stops. Safe to call twice.
func (w *Writer[T]) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *Writer[T]) run() {
	defer close(w.done)
	for v := range w.ch {
		items := Collect(v, w.ch, w.opts.MaxBatch)
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.Timeout)
		if err := w.opts.Write(ctx, items); err != nil {
			w.opts.OnError(items, err)
		}
		cancel()
	}
}

// Collect returns first followed by whatever ch holds right now, at most
// max items in all: a batch that waits for nothing.
func Collect[T any](first T, ch <-chan T, max int) []T {
	items := []T{first}
	for len(items) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return items
			}
			items = append(items, v)
		default:
			return items
		}
	}
	return items
}
