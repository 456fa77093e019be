package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestSMSStore runs the message store suite; open must return an empty
// store.
func TestSMSStore(t *testing.T, open func(t *testing.T) sms.Store) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	t.Run("round trip every field", func(t *testing.T) {
		s := open(t)
		in := sms.Message{ID: "3421756012963258480", Tenant: "t1", Owner: "key:crm", From: "Firma", To: "48600100200",
			Body: "Zażółć gęślą jaźń", State: sms.Queue, Queued: base.Add(123 * time.Microsecond), Updated: base, Driver: "http"}
		if err := s.InsertSMS(ctx, &in); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertSMS(ctx, &in); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second insert of one id: %v", err)
		}
		in.State, in.Accepted, in.Sent, in.Done, in.Updated = sms.Delivered, base.Add(time.Second), base.Add(2*time.Second), base.Add(3*time.Second), base.Add(3*time.Second)
		in.Attempts, in.NextAttempt, in.Error, in.Ref, in.Rated, in.Cost, in.Zone = 2, base.Add(time.Minute), "x", "gw-1", true, 9, "PL mobile"
		if err := s.UpdateSMS(ctx, &in); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSMS(ctx, "t1", in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != in {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
		}
		if got, err := s.SMSByRef(ctx, "t1", "gw-1"); err != nil || got.ID != in.ID {
			t.Fatalf("by ref: %+v %v", got, err)
		}
		for _, miss := range []func() error{
			func() error { _, err := s.GetSMS(ctx, "t2", in.ID); return err },
			func() error { _, err := s.SMSByRef(ctx, "t2", "gw-1"); return err },
			func() error { _, err := s.SMSByRef(ctx, "t1", ""); return err },
			func() error { x := in; x.Tenant = "t2"; return s.UpdateSMS(ctx, &x) },
		} {
			if err := miss(); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("another tenant's or a missing message: %v", err)
			}
		}
	})

	t.Run("query and pending", func(t *testing.T) {
		s := open(t)
		states := []sms.State{sms.Queue, sms.Renewal, sms.Accepted, sms.Sent, sms.Delivered, sms.Failed, sms.Undelivered}
		for i := 0; i < 21; i++ {
			m := sms.Message{ID: fmt.Sprint(1000 + i), Tenant: "t1", Owner: fmt.Sprint("user:", i%2), To: "600100200", Body: "b",
				State: states[i%len(states)], Queued: base.Add(time.Duration(i) * time.Minute), Updated: base}
			if i == 20 {
				m.Tenant = "t2"
			}
			if err := s.InsertSMS(ctx, &m); err != nil {
				t.Fatal(err)
			}
		}
		all, total, err := s.QuerySMS(ctx, sms.Filter{Tenant: "t1", Limit: 5})
		if err != nil || total != 20 || len(all) != 5 || all[0].ID != "1019" || all[4].ID != "1015" {
			t.Fatalf("newest first: %d %d %v", total, len(all), err)
		}
		page, _, _ := s.QuerySMS(ctx, sms.Filter{Tenant: "t1", Limit: 5, Offset: 5})
		if len(page) != 5 || page[0].ID != "1014" {
			t.Fatalf("second page: %+v", page)
		}
		own, total, _ := s.QuerySMS(ctx, sms.Filter{Tenant: "t1", Owner: "user:1"})
		if total != 10 || len(own) != 10 {
			t.Fatalf("by owner: %d", total)
		}
		_, total, _ = s.QuerySMS(ctx, sms.Filter{Tenant: "t1", State: sms.Delivered})
		if total != 3 {
			t.Fatalf("delivered: %d", total)
		}
		rng, total, _ := s.QuerySMS(ctx, sms.Filter{Tenant: "t1", From: base.Add(2 * time.Minute), To: base.Add(5 * time.Minute)})
		if total != 3 || rng[0].ID != "1004" || rng[2].ID != "1002" {
			t.Fatalf("range [2m, 5m): %d %+v", total, rng)
		}
		for _, bad := range []sms.Filter{{Tenant: "t1", Limit: -1}, {Tenant: "t1", From: base.Add(time.Hour), To: base}} {
			if _, _, err := s.QuerySMS(ctx, bad); !errors.Is(err, store.ErrInvalidFilter) {
				t.Fatalf("%+v: %v", bad, err)
			}
		}
		pend, err := s.PendingSMS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for i := 0; i < 21; i++ {
			if !states[i%len(states)].Final() {
				want++
			}
		}
		if len(pend) != want {
			t.Fatalf("pending: %d, want %d", len(pend), want)
		}
		for i, m := range pend {
			if m.State.Final() || (i > 0 && m.Queued.Before(pend[i-1].Queued)) {
				t.Fatalf("pending %d: %+v", i, m)
			}
		}
	})
}
