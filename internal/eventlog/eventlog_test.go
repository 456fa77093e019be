package eventlog

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

type nopCDRs struct{}

func (nopCDRs) InsertCDR(context.Context, *pbx.CDR) error { return nil }

func newCore(t *testing.T) *pbx.Core {
	t.Helper()
	c, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{
		{Name: "a", Domain: "a.local", Extensions: []pbx.ExtensionEntry{{Number: "100"}}},
		{Name: "b", Domain: "b.local", Extensions: []pbx.ExtensionEntry{{Number: "100"}}},
	}}, nopCDRs{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func replayAll(t *testing.T, l *Log, tenant string, since, upTo uint64) []eventbus.Envelope[pbx.Event] {
	t.Helper()
	var got []eventbus.Envelope[pbx.Event]
	last, trunc, err := l.Replay(context.Background(), tenant, since, upTo, func(e eventbus.Envelope[pbx.Event]) error {
		got = append(got, e)
		return nil
	})
	if err != nil || trunc != 0 || last != upTo {
		t.Fatalf("replay: last %d trunc %d err %v", last, trunc, err)
	}
	return got
}

// TestLogSurvivesRestart: events are logged in order per tenant, replay
// gives exactly the asked range, and numbering continues after a restart
// on the same database.
func TestLogSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sb.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	core := newCore(t)
	l, err := Start(ctx, core, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 { // 10 events in a, 5 in b
		reg := &pbx.Registration{Contact: "sip:x@1"}
		if i%2 == 1 {
			reg = nil
		}
		core.SetRegistration("a", "100", reg)
		if i%2 == 0 {
			core.SetRegistration("b", "100", reg)
		}
	}
	got := replayAll(t, l, "a", 3, 10)
	if len(got) != 7 || got[0].Seq != 4 || got[6].Seq != 10 {
		t.Fatalf("replay a 3..10: %d events from %d", len(got), got[0].Seq)
	}
	if ev := got[0].Event; ev.Type != pbx.EvExtensionState || ev.Extension == nil || ev.Extension.Number != "100" || got[0].Tenant != "a" {
		t.Fatalf("replayed event %+v", got[0])
	}
	core.Close()
	l.Close()
	st.Close()

	st2, _ := sqlite.Open(ctx, path, sqlite.Options{})
	defer st2.Close()
	core2 := newCore(t)
	l2, err := Start(ctx, core2, st2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sub, at := core2.SubscribeAt("a", 10)
	defer sub.Close()
	if at != 10 {
		t.Fatalf("numbering after restart starts at %d, want 10", at)
	}
	core2.SetRegistration("a", "100", &pbx.Registration{Contact: "sip:y@1"})
	if env := <-sub.C(); env.Seq != 11 {
		t.Fatalf("first event after restart has seq %d", env.Seq)
	}
	if got := replayAll(t, l2, "a", 0, 11); len(got) != 11 {
		t.Fatalf("replay across the restart: %d events", len(got))
	}
	if got := replayAll(t, l2, "b", 0, 5); len(got) != 5 {
		t.Fatalf("tenant b: %d events", len(got))
	}
	core2.Close()
	l2.Close()
}

// TestReplayReportsTruncation: a client asking for pruned events is told
// where the log now starts.
func TestReplayReportsTruncation(t *testing.T) {
	ctx := context.Background()
	st, _ := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sb.db"), sqlite.Options{})
	defer st.Close()
	core := newCore(t)
	l, _ := Start(ctx, core, st, Options{})
	for range 4 {
		core.SetRegistration("a", "100", &pbx.Registration{Contact: "sip:x@1"})
		core.SetRegistration("a", "100", nil)
	}
	replayAll(t, l, "a", 0, 8) // all written
	if n, err := st.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 7 {
		t.Fatalf("pruned %d %v (the newest stays)", n, err)
	}
	_, trunc, err := l.Replay(ctx, "a", 2, 8, func(eventbus.Envelope[pbx.Event]) error { return nil })
	if err != nil || trunc != 8 {
		t.Fatalf("truncated from %d, %v", trunc, err)
	}
	core.Close()
	l.Close()
}
