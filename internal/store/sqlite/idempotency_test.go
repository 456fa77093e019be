package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// TestIdempotencyKeys: a key is claimed once; its answer is kept for the
// TTL; a pending claim older than "stale" (a crash's leftover) and an
// expired key may be claimed again; a released claim is gone; owners and
// scopes are separate keys.
func TestIdempotencyKeys(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	const ttl, stale = 24 * time.Hour, time.Minute
	k := dialect.IdemKey{Tenant: "t", Owner: "user:a", Scope: "native", Key: "k1"}
	claim := func(k dialect.IdemKey, fp string, at time.Time) (dialect.IdemRecord, bool) {
		t.Helper()
		rec, ok, err := s.ClaimKey(ctx, k, fp, at, ttl, stale)
		if err != nil {
			t.Fatal(err)
		}
		return rec, ok
	}
	if _, ok := claim(k, "fp1", now); !ok {
		t.Fatal("first claim refused")
	}
	if rec, ok := claim(k, "fp2", now.Add(time.Second)); ok || rec.Done || rec.Fingerprint != "fp1" {
		t.Fatalf("second claim while pending: %v %+v", ok, rec)
	}
	if _, ok := claim(k, "fp1", now.Add(2*stale)); !ok {
		t.Fatal("a stale pending claim was not taken over")
	}
	if err := s.CompleteKey(ctx, k, []byte(`{"id":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseKey(ctx, k); err != nil { // a done key is not released
		t.Fatal(err)
	}
	rec, ok := claim(k, "fp1", now.Add(23*time.Hour))
	if ok || !rec.Done || string(rec.Body) != `{"id":"1"}` {
		t.Fatalf("done key within the TTL: %v %+v", ok, rec)
	}
	if _, ok := claim(k, "fp3", now.Add(25*time.Hour)); !ok {
		t.Fatal("an expired key was not claimed anew")
	}
	if err := s.ReleaseKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, ok := claim(k, "fp4", now.Add(25*time.Hour)); !ok {
		t.Fatal("a released key was not free")
	}
	for _, other := range []dialect.IdemKey{
		{Tenant: "t", Owner: "user:b", Scope: "native", Key: "k1"},
		{Tenant: "t", Owner: "user:a", Scope: "viptel", Key: "k1"},
		{Tenant: "u", Owner: "user:a", Scope: "native", Key: "k1"},
	} {
		if _, ok := claim(other, "fp1", now); !ok {
			t.Fatalf("%+v shares k1", other)
		}
	}
}
