package dialect

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// mediaEngine reports a fixed live quality for every call.
type mediaEngine struct{ okEngine }

func (mediaEngine) PauseCapture(context.Context, string, string, bool) error { return nil }

func (mediaEngine) LiveQuality(tenant, callID string) (pbx.Quality, error) {
	return pbx.Quality{CallID: callID, Codec: "PCMA"}, nil
}

// TestCallQuality (and PauseCapture): the right first, then ownership for restricted roles;
// an engine without the capability answers ErrNotSupported.
func TestCallQuality(t *testing.T) {
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []pbx.ExtensionEntry{{Number: "1001"}, {Number: "1002"}, {Number: "1003"}}}}}, nopCDRs{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	_, own, _ := core.NewCall("a", "1001", "1002", false, pbx.ChannelSpec{Peer: "1001", Exten: "1001", Dir: pbx.Inbound})
	_, other, _ := core.NewCall("a", "1003", "1002", false, pbx.ChannelSpec{Peer: "1003", Exten: "1003", Dir: pbx.Inbound})
	svc := NewService(core)
	admin := auth.Principal{Tenant: "a", Name: "admin", Role: "admin"}
	user := auth.Principal{Tenant: "a", Name: "u", Role: "user", Extension: "1001"}
	denied := auth.Principal{Tenant: "a", Name: "d", Role: "admin", Rights: map[string]bool{}}

	core.SetEngine(okEngine{core})
	if _, err := svc.CallQuality(admin, own.ID); !errors.Is(err, pbx.ErrNotSupported) {
		t.Fatalf("engine without the capability: %v", err)
	}
	core.SetEngine(mediaEngine{okEngine{core}})
	if q, err := svc.CallQuality(admin, other.ID); err != nil || q.Codec != "PCMA" || q.CallID != other.ID {
		t.Fatalf("admin: %+v %v", q, err)
	}
	if _, err := svc.CallQuality(user, own.ID); err != nil {
		t.Fatalf("user, own call: %v", err)
	}
	if _, err := svc.CallQuality(user, other.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("user, another's call: %v", err)
	}
	if _, err := svc.CallQuality(denied, own.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("no right: %v", err)
	}
	ctx := context.Background()
	if err := svc.PauseCapture(ctx, user, own.ID, true); err != nil {
		t.Fatalf("pause own call: %v", err)
	}
	if err := svc.PauseCapture(ctx, user, other.ID, true); !errors.Is(err, ErrForbidden) {
		t.Fatalf("pause another's call: %v", err)
	}
	if err := svc.PauseCapture(ctx, auth.Principal{Tenant: "a", Role: "readonly"}, own.ID, true); !errors.Is(err, ErrForbidden) {
		t.Fatalf("readonly pauses: %v", err)
	}
	core.SetEngine(okEngine{core})
	if err := svc.PauseCapture(ctx, admin, own.ID, true); !errors.Is(err, pbx.ErrNotSupported) {
		t.Fatalf("engine without the capability: %v", err)
	}
}
