package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/webhook"
)

// TestDeadLetterIDsPerTenant: dead-letter ids count within each tenant and
// another tenant's id finds nothing.
func TestDeadLetterIDsPerTenant(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	want := map[string]int64{}
	for _, tenant := range []string{"a", "b", "b", "a", "b"} {
		d := webhook.DeadLetter{Tenant: tenant, Hook: "h", URL: "http://x", Type: "call.new", Body: []byte("{}"), Time: time.Now()}
		if err := s.InsertDeadLetter(ctx, &d); err != nil {
			t.Fatal(err)
		}
		want[tenant]++
		if d.ID != want[tenant] {
			t.Fatalf("dead letter %d of %s has id %d", want[tenant], tenant, d.ID)
		}
	}
	if _, err := s.TakeDeadLetter(ctx, "a", 3); err == nil {
		t.Fatal("tenant a took an id only tenant b has")
	}
	if d, err := s.TakeDeadLetter(ctx, "b", 3); err != nil || d.Tenant != "b" {
		t.Fatalf("take b/3: %+v %v", d, err)
	}
}
