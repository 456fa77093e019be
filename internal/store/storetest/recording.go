package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestRecordingStore runs the recording index suite; open must return an
// empty store.
func TestRecordingStore(t *testing.T, open func(t *testing.T) pbx.RecordingStore) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	t.Run("round trip, update, tenant isolation", func(t *testing.T) {
		s := open(t)
		in := pbx.Recording{ID: "r1", Tenant: "t1", CallID: "1772366400.7", Src: "1001", Dst: "1002", File: "a.wav",
			Stereo: true, State: pbx.RecActive, By: "api", Started: base.Add(123 * time.Microsecond)}
		if err := s.InsertRecording(ctx, &in); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRecording(ctx, "t1", "r1")
		if err != nil || got != in {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, in)
		}
		if _, err := s.GetRecording(ctx, "t2", "r1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant: %v", err)
		}
		if rs, n, err := s.QueryRecordings(ctx, pbx.RecordingFilter{Tenant: "t1", File: "a.wav"}); err != nil || n != 1 || rs[0].ID != "r1" {
			t.Fatalf("by file name: %v %d %v", rs, n, err)
		}
		if _, n, _ := s.QueryRecordings(ctx, pbx.RecordingFilter{Tenant: "t2", File: "a.wav"}); n != 0 {
			t.Fatalf("another tenant's file name matched")
		}
		dup := in
		dup.ID = "r2"
		if err := s.InsertRecording(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same file name twice: %v", err)
		}
		open, err := s.UnfinishedRecordings(ctx)
		if err != nil || len(open) != 1 || open[0].ID != "r1" {
			t.Fatalf("unfinished: %v %+v", err, open)
		}
		in.State, in.Ended, in.Millis, in.Size, in.ErrorMsg = pbx.RecDone, base.Add(3*time.Second), 3000, 96044, ""
		if err := s.UpdateRecording(ctx, &in); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetRecording(ctx, "t1", "r1"); got != in {
			t.Fatalf("after update\n got %+v\nwant %+v", got, in)
		}
		if open, _ := s.UnfinishedRecordings(ctx); len(open) != 0 {
			t.Fatalf("finished recording still listed as open: %+v", open)
		}
		other := in
		other.Tenant = "t2"
		if err := s.UpdateRecording(ctx, &other); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update in another tenant: %v", err)
		}
	})

	t.Run("filters and paging", func(t *testing.T) {
		s := open(t)
		for i := range 12 {
			r := pbx.Recording{ID: fmt.Sprint("r", i), Tenant: "t1", CallID: fmt.Sprint("c", i%4), Src: fmt.Sprint(1000 + i%2),
				Dst: "2000", File: fmt.Sprint(i, ".wav"), State: pbx.RecDone, Started: base.Add(time.Duration(i) * time.Hour)}
			if err := s.InsertRecording(ctx, &r); err != nil {
				t.Fatal(err)
			}
		}
		x := pbx.Recording{ID: "x", Tenant: "t2", CallID: "c0", File: "x.wav", State: pbx.RecDone, Started: base}
		if err := s.InsertRecording(ctx, &x); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			f     pbx.RecordingFilter
			total int
			first string
		}{
			{pbx.RecordingFilter{Tenant: "t1"}, 12, "r11"},
			{pbx.RecordingFilter{Tenant: "t1", CallID: "c0"}, 3, "r8"},
			{pbx.RecordingFilter{Tenant: "t1", Number: "1001"}, 6, "r11"},
			{pbx.RecordingFilter{Tenant: "t1", From: base.Add(2 * time.Hour), To: base.Add(5 * time.Hour)}, 3, "r4"},
			{pbx.RecordingFilter{Tenant: "t1", Limit: 2, Offset: 2}, 12, "r9"},
			{pbx.RecordingFilter{Tenant: "t2"}, 1, "x"},
		}
		for _, c := range cases {
			rs, total, err := s.QueryRecordings(ctx, c.f)
			if err != nil || total != c.total || len(rs) == 0 || rs[0].ID != c.first {
				t.Fatalf("%+v: %v total %d, rows %+v", c.f, err, total, rs)
			}
		}
		if _, _, err := s.QueryRecordings(ctx, pbx.RecordingFilter{Tenant: "t1", Limit: -1}); !errors.Is(err, store.ErrInvalidFilter) {
			t.Fatalf("negative limit: %v", err)
		}
	})
}
