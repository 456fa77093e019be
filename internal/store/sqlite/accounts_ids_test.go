package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// TestKeyIDsPerTenant: API key ids count within each tenant; revoking and
// touching go by (tenant, id), so one tenant's id never reaches another's
// key.
func TestKeyIDsPerTenant(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	want := map[string]int64{}
	for i, tenant := range []string{"a", "b", "b", "a"} {
		k := auth.StoredKey{Tenant: tenant, Name: "k", SHA256: string(rune('a'+i)) + "x", Prefix: "sbk_", Role: "admin", Created: now}
		if err := s.CreateKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
		want[tenant]++
		if k.ID != want[tenant] {
			t.Fatalf("key %d of %s has id %d", want[tenant], tenant, k.ID)
		}
	}
	if err := s.RevokeKey(ctx, "a", 2, now); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchKey(ctx, "b", 2, now); err != nil {
		t.Fatal(err)
	}
	ka, _ := s.ListKeys(ctx, "a")
	kb, _ := s.ListKeys(ctx, "b")
	if len(ka) != 2 || ka[1].Revoked.IsZero() || !ka[0].Revoked.IsZero() || !kb[1].Revoked.IsZero() || kb[1].LastUsed.IsZero() || !ka[1].LastUsed.IsZero() {
		t.Fatalf("a %+v\nb %+v", ka, kb)
	}
}
