package dossier_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/dossier"
	"github.com/switchboard-pbx/switchboard/internal/eventlog"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// seedTransfers logs a call whose party changed legs-1 times (transfers),
// among other calls' events, in a real SQLite event log.
func seedTransfers(tb testing.TB, s *sqlite.Store, legs, otherCalls int) string {
	tb.Helper()
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	var es []pbx.StoredEvent
	seq := uint64(0)
	add := func(e pbx.Event) {
		seq++
		e.Time = at.Add(time.Duration(seq) * time.Millisecond)
		es = append(es, pbx.StoredEvent{Tenant: "t", Seq: seq, Time: e.Time, Type: e.Type, CallID: e.CallID(), Body: eventlog.Encode(e)})
	}
	for c := 0; c < otherCalls; c++ { // noise: other calls' lifecycles
		id := fmt.Sprintf("9%d.1", c)
		ch := pbx.Channel{UniqueID: id, CallID: id, Name: "SIP/2001-x", Exten: "2001", Tenant: "t"}
		call := pbx.Call{ID: id, Tenant: "t", From: "2001", To: "2002", Channels: []pbx.Channel{ch}}
		add(pbx.Event{Type: pbx.EvCallNew, Call: &call})
		add(pbx.Event{Type: pbx.EvChannelNew, Channel: &ch})
		add(pbx.Event{Type: pbx.EvCallEnded, Call: &call, CDR: &pbx.CDR{UniqueID: id, Tenant: "t"}})
	}
	id := "1.1"
	a := pbx.Channel{UniqueID: id, CallID: id, Name: "SIP/1001-1", Exten: "1001", Tenant: "t", State: pbx.ChanUp}
	call := pbx.Call{ID: id, Tenant: "t", From: "1001", To: "1002", Channels: []pbx.Channel{a}}
	add(pbx.Event{Type: pbx.EvCallNew, Call: &call})
	add(pbx.Event{Type: pbx.EvChannelNew, Channel: &a})
	prev := pbx.Channel{}
	for l := 1; l < legs+1; l++ {
		b := pbx.Channel{UniqueID: fmt.Sprintf("1.%d", l+1), CallID: id, Name: fmt.Sprintf("SIP/%d-%d", 1001+l, l+1), Exten: fmt.Sprint(1001 + l), Tenant: "t", State: pbx.ChanUp}
		add(pbx.Event{Type: pbx.EvChannelNew, Channel: &b})
		add(pbx.Event{Type: pbx.EvChannelState, Channel: &b})
		if prev.UniqueID != "" {
			add(pbx.Event{Type: pbx.EvChannelHangup, Channel: &prev, Cause: "transferred"})
			add(pbx.Event{Type: pbx.EvCallTransferred, Call: &call, Channel: &b, Replaces: prev.UniqueID,
				CDR: &pbx.CDR{UniqueID: id, Tenant: "t", Src: "1001", Dst: prev.Exten}})
		} else {
			add(pbx.Event{Type: pbx.EvCallAnswered, Call: &call})
		}
		prev = b
	}
	add(pbx.Event{Type: pbx.EvCallEnded, Call: &call, CDR: &pbx.CDR{UniqueID: id, Tenant: "t"}})
	for i := 0; i < len(es); i += 500 {
		if err := s.AppendEvents(context.Background(), es[i:min(i+500, len(es))]); err != nil {
			tb.Fatal(err)
		}
	}
	return id
}

func open(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "d.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func sources(s *sqlite.Store) dossier.Sources {
	return dossier.Sources{Events: s.CallEvents, Decode: eventlog.Decode}
}

// TestTenLegs: a call transferred nine times has ten parties, nine
// transfers each naming the channel it replaced, and only its own events.
func TestTenLegs(t *testing.T) {
	s := open(t)
	id := seedTransfers(t, s, 10, 100)
	d, err := dossier.Build(context.Background(), sources(s), "t", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Parties) != 11 || len(d.Transfers) != 9 {
		t.Fatalf("%d parties, %d transfers; want 11 (caller + 10 legs) and 9", len(d.Parties), len(d.Transfers))
	}
	for _, e := range d.Events {
		if e.Event.CallID() != id {
			t.Fatalf("event of another call: %+v", e.Event)
		}
	}
	replaced := 0
	for _, p := range d.Parties {
		if p.Replaced != "" {
			replaced++
		}
	}
	if replaced != 9 {
		t.Fatalf("%d parties name their replacement, want 9", replaced)
	}
	if _, err := dossier.Build(context.Background(), sources(s), "t", "no.such", nil); err != dossier.ErrNotFound {
		t.Fatalf("unknown call: %v", err)
	}
	if _, err := dossier.Build(context.Background(), sources(s), "other-tenant", id, nil); err != dossier.ErrNotFound {
		t.Fatalf("another tenant's call: %v", err)
	}
}

// BenchmarkDossier10Legs: building the dossier of a call with 10 legs
// from a real SQLite event log holding 100,000 calls' events; prints
// p50/p99 latency.
func BenchmarkDossier10Legs(b *testing.B) {
	s := open(b)
	id := seedTransfers(b, s, 10, 100_000)
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := dossier.Build(context.Background(), sources(s), "t", id, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}
