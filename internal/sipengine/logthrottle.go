package sipengine

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Limits of the log handler given to sipgo.
const (
	// sipLogEvery lets one record per message text through per interval:
	// sipgo logs every unparseable datagram (with its whole content) at
	// ERROR, so an unauthenticated flood would otherwise grow the log by
	// megabytes and bury real errors.
	sipLogEvery = 10 * time.Second
	// sipLogMaxValue truncates string values (the raw datagram) in bytes.
	sipLogMaxValue = 200
)

// throttleHandler wraps the handler sipgo logs to. Records at Warn and
// above are rate-limited per message text, lowered to Warn (they describe
// what remote peers sent, not our failures) and carry how many were
// suppressed since the last one; string values are truncated at every
// level. Clones made by WithAttrs/WithGroup share the limiter.
type throttleHandler struct {
	next  slog.Handler
	every time.Duration
	st    *throttleState
}

type throttleState struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]*throttleEntry
}

type throttleEntry struct {
	last       time.Time
	suppressed int
}

// maxThrottleKeys bounds the limiter's memory; message texts are sipgo's
// constants, so this is never reached in practice.
const maxThrottleKeys = 1024

func newThrottleHandler(next slog.Handler, every time.Duration) *throttleHandler {
	return &throttleHandler{next: next, every: every, st: &throttleState{now: time.Now, seen: map[string]*throttleEntry{}}}
}

func (h *throttleHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, min(l, slog.LevelWarn))
}

func (h *throttleHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		suppressed, ok := h.st.admit(r.Message, h.every)
		if !ok {
			return nil
		}
		r = lowered(r)
		if suppressed > 0 {
			r.AddAttrs(slog.Int("suppressed", suppressed))
		}
	} else {
		r = lowered(r)
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// admit reports whether a record with msg may be logged now, and how many
// were suppressed before it.
func (s *throttleState) admit(msg string, every time.Duration) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.seen[msg]
	if e == nil {
		if len(s.seen) >= maxThrottleKeys {
			for k, v := range s.seen {
				if now.Sub(v.last) > every {
					delete(s.seen, k)
				}
			}
			if len(s.seen) >= maxThrottleKeys {
				return 0, false
			}
		}
		s.seen[msg] = &throttleEntry{last: now}
		return 0, true
	}
	if now.Sub(e.last) < every {
		e.suppressed++
		return 0, false
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	return n, true
}

// lowered copies r at Warn at most, with long string values truncated.
func lowered(r slog.Record) slog.Record {
	out := slog.NewRecord(r.Time, min(r.Level, slog.LevelWarn), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(truncAttr(a))
		return true
	})
	return out
}

func truncAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) > sipLogMaxValue {
			return slog.String(a.Key, s[:sipLogMaxValue]+"…")
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			if s := err.Error(); len(s) > sipLogMaxValue {
				return slog.String(a.Key, s[:sipLogMaxValue]+"…")
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *throttleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for i := range as {
		as[i] = truncAttr(as[i])
	}
	return &throttleHandler{next: h.next.WithAttrs(as), every: h.every, st: h.st}
}

func (h *throttleHandler) WithGroup(name string) slog.Handler {
	return &throttleHandler{next: h.next.WithGroup(name), every: h.every, st: h.st}
}
