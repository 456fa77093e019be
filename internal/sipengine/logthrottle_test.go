package sipengine

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// A flood of unparseable datagrams yields one truncated Warn record per
// interval, not one ERROR record with the whole datagram each.
func TestGarbageSIPLogThrottled(t *testing.T) {
	logs := newLogCapture()
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) { c.Logger = slog.New(logs) })
	p := newWirePeer(t, "udp", r.eng.Addr(), "")
	garbage := append([]byte("INVITE garbage\r\n"), bytes.Repeat([]byte("X"), 1000)...)
	for range 200 {
		p.sendRaw(garbage)
	}
	// UDP datagrams are parsed in order on one goroutine: once an OPTIONS
	// is answered, every datagram before it has been seen.
	q := wireReq{method: sip.OPTIONS, ruser: "100", rhost: domain, fromUser: "x", fromHost: domain, fromTag: "o", callID: "opt-1"}
	p.sendRaw(p.build(q))
	if res := p.final("opt-1", sip.OPTIONS, 5*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS after the garbage: %v", res)
	}
	n := 0
	for _, rec := range logs.all() {
		if rec.Level >= slog.LevelError {
			t.Errorf("logged at %v: %s", rec.Level, rec.Message)
		}
		parse := false
		rec.Attrs(func(a slog.Attr) bool {
			if s := a.Value.String(); len(s) > sipLogMaxValue+8 {
				t.Errorf("attr %s of %q not truncated: %d bytes", a.Key, rec.Message, len(s))
			}
			if bytes.Contains([]byte(a.Value.String()), []byte("INVITE garbage")) {
				parse = true
			}
			return true
		})
		if parse {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d records about the garbage, want exactly 1", n)
	}
}

// The limiter lets a message through again after its interval, with the
// count of what it suppressed.
func TestThrottleHandlerCountsSuppressed(t *testing.T) {
	logs := newLogCapture()
	h := newThrottleHandler(logs, 10*time.Second)
	now := time.Unix(1_800_000_000, 0)
	h.st.now = func() time.Time { return now }
	l := slog.New(h).With("caller", "Transport<UDP>")
	for range 5 {
		l.Error("failed to parse", "data", "x")
	}
	l.Warn("other message")
	now = now.Add(11 * time.Second)
	l.Error("failed to parse", "data", "x")
	recs := logs.all()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	var suppressed int64
	recs[2].Attrs(func(a slog.Attr) bool {
		if a.Key == "suppressed" {
			suppressed = a.Value.Int64()
		}
		return true
	})
	if suppressed != 4 || recs[2].Level != slog.LevelWarn {
		t.Fatalf("third record: level %v, suppressed %d", recs[2].Level, suppressed)
	}
}
