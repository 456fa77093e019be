package dialect

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

type nopCDRs struct{}

func (nopCDRs) InsertCDR(context.Context, *pbx.CDR) error { return nil }

// okEngine accepts every command, so what the table sees is the service's
// decision alone.
type okEngine struct{ core *pbx.Core }

func (e okEngine) Originate(_ context.Context, r pbx.OriginateRequest) (pbx.Call, error) {
	_, c, err := e.core.NewCall(r.Tenant, r.From, r.To, true, pbx.ChannelSpec{Peer: r.From, Exten: r.From, Dir: pbx.Outbound})
	return c, err
}
func (okEngine) Hangup(context.Context, string, string, string) error   { return nil }
func (okEngine) PlayDTMF(context.Context, string, string, string) error { return nil }
func (okEngine) Redirect(context.Context, string, string, string) error { return nil }
func (okEngine) Pickup(context.Context, string, string, string) error   { return nil }
func (okEngine) Monitor(context.Context, string, string, string) (pbx.Call, error) {
	return pbx.Call{}, nil
}

// TestPermissionTable runs every action of the service against principals
// with and without the right, and with and without ownership of the
// object: the one place these rules live, so every dialect gets the same
// answers.
func TestPermissionTable(t *testing.T) {
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []pbx.ExtensionEntry{{Number: "1001"}, {Number: "1002"}, {Number: "1003"}},
		Queues:     []pbx.QueueEntry{{Name: "q", Number: "700", JoinEmpty: true}}}}}, nopCDRs{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	core.SetEngine(okEngine{core})
	_, own, _ := core.NewCall("a", "1001", "1002", false, pbx.ChannelSpec{Peer: "1001", Exten: "1001", Dir: pbx.Inbound})
	_, other, _ := core.NewCall("a", "+15550100", "1002", false, pbx.ChannelSpec{Peer: "carrier", IsTrunk: true, Dir: pbx.Inbound})
	svc := NewService(core)
	ctx := context.Background()

	admin := auth.Principal{Tenant: "a", Name: "admin", Role: "admin"}
	user := auth.Principal{Tenant: "a", Name: "u", Role: "user", Extension: "1001"}
	noExt := auth.Principal{Tenant: "a", Name: "n", Role: "user"}
	readonly := auth.Principal{Tenant: "a", Name: "r", Role: "readonly"}
	denied := auth.Principal{Tenant: "a", Name: "d", Role: "admin", Rights: map[string]bool{}}

	type action struct {
		name string
		do   func(p auth.Principal, call string) error
	}
	e1 := func(_ any, err error) error { return err }
	actions := []action{
		{"calls.find", func(p auth.Principal, c string) error { return e1(svc.FindCall(p, c)) }},
		{"calls.hangup", func(p auth.Principal, c string) error { return svc.Hangup(ctx, p, c) }},
		{"calls.dtmf", func(p auth.Principal, c string) error { return svc.PlayDTMF(ctx, p, c, "1") }},
		{"calls.redirect", func(p auth.Principal, c string) error { return svc.Redirect(ctx, p, c, "1003") }},
		{"recordings.start", func(p auth.Principal, c string) error {
			_, err := svc.StartRecording(ctx, p, c, pbx.RecordOptions{})
			if errors.Is(err, pbx.ErrNotSupported) {
				return nil // allowed; this core has no recorder
			}
			return err
		}},
	}
	type want struct{ own, other bool } // allowed on own call / on another's
	table := []struct {
		who  string
		p    auth.Principal
		want want
	}{
		{"admin", admin, want{true, true}},
		{"user with extension", user, want{true, false}},
		{"user without extension", noExt, want{false, false}},
		{"readonly (no control right)", readonly, want{false, false}},
		{"admin with every right denied", denied, want{false, false}},
	}
	for _, row := range table {
		for _, a := range actions {
			for _, target := range []struct {
				name    string
				id      string
				allowed bool
			}{{"own call", own.ID, row.want.own}, {"other call", other.ID, row.want.other}} {
				err := a.do(row.p, target.id)
				got := !errors.Is(err, ErrForbidden)
				if a.name == "calls.find" && row.who == "readonly (no control right)" {
					// readonly may read calls: find is allowed on any.
					if errors.Is(err, ErrForbidden) {
						t.Errorf("%s %s on %s: %v, want allowed", row.who, a.name, target.name, err)
					}
					continue
				}
				if got != target.allowed {
					t.Errorf("%s %s on %s: err %v, allowed=%v, want %v", row.who, a.name, target.name, err, got, target.allowed)
				}
			}
		}
	}

	// Actions without a call: originate from one's own extension only,
	// priority calls not for restricted roles, queue membership for
	// oneself unless supervising.
	checks := []struct {
		name    string
		err     error
		allowed bool
	}{
		{"user originates from own", e1(svc.Originate(ctx, user, pbx.OriginateRequest{From: "1001", To: "1002"}, false)), true},
		{"user originates from another", e1(svc.Originate(ctx, user, pbx.OriginateRequest{From: "1003", To: "1002"}, false)), false},
		{"user priority call", e1(svc.Originate(ctx, user, pbx.OriginateRequest{From: "1001", To: "1002"}, true)), false},
		{"no-extension user originates", e1(svc.Originate(ctx, noExt, pbx.OriginateRequest{From: "1001", To: "1002"}, false)), false},
		{"readonly originates", e1(svc.Originate(ctx, readonly, pbx.OriginateRequest{From: "1001", To: "1002"}, false)), false},
		{"admin originates from any", e1(svc.Originate(ctx, admin, pbx.OriginateRequest{From: "1003", To: "1002"}, false)), true},
		{"user logs self into queue", e1(svc.QueueLogin(user, "q", "", true, 0)), true},
		{"user logs another into queue", e1(svc.QueueLogin(user, "q", "1003", true, 0)), false},
		{"no-extension user logs \"\" into queue", e1(svc.QueueLogin(noExt, "q", "", true, 0)), false},
		{"admin logs another into queue", e1(svc.QueueLogin(admin, "q", "1003", true, 0)), true},
		{"user shifts a caller", e1(svc.QueueShift(user, "q", "x", 1)), false},
		{"user creates a conference", func() error { _, _, err := svc.CreateConference(ctx, user, []string{"1001"}, false); return err }(), false},
		{"user invites another into a conference", e1(svc.ConferenceInvite(ctx, user, "r", []string{"1003"}, false)), false},
		{"user monitors", e1(svc.Monitor(ctx, user, own.ID, "1001")), false},
		{"user picks up for another", svc.Pickup(ctx, user, other.ID, "1003"), false},
		{"user picks up for self", svc.Pickup(ctx, user, other.ID, ""), true},
		{"readonly lists recordings", func() error { _, _, err := svc.Recordings(ctx, readonly, pbx.RecordingFilter{}); return err }(), true},
		{"user lists recordings", func() error { _, _, err := svc.Recordings(ctx, user, pbx.RecordingFilter{}); return err }(), false},
	}
	for _, c := range checks {
		if got := !errors.Is(c.err, ErrForbidden); got != c.allowed {
			t.Errorf("%s: err %v, want allowed=%v", c.name, c.err, c.allowed)
		}
	}

	// Restricted listing shows own calls only.
	calls, _ := svc.Calls(user)
	for _, c := range calls {
		if c.ID == other.ID {
			t.Errorf("user sees another extension's call %s", c.ID)
		}
	}
	if calls, _ := svc.Calls(noExt); len(calls) != 0 {
		t.Errorf("user without extension sees %d calls", len(calls))
	}
}

// TestVisibleEvent: CDR bodies need cdr.read; restricted roles see their
// own calls' events only.
func TestVisibleEvent(t *testing.T) {
	call := &pbx.Call{ID: "1", Channels: []pbx.Channel{{Exten: "1001"}, {IsTrunk: true}}}
	ended := pbx.Event{Type: pbx.EvCallEnded, Call: call, CDR: &pbx.CDR{Src: "1001"}}
	user := auth.Principal{Role: "user", Extension: "1001"}
	if e, ok := VisibleEvent(user, ended); !ok || e.CDR != nil {
		t.Fatalf("user: ok=%v cdr=%v", ok, e.CDR)
	}
	if ended.CDR == nil {
		t.Fatal("filtering changed the shared event")
	}
	if _, ok := VisibleEvent(auth.Principal{Role: "user"}, ended); ok {
		t.Fatal("a user without extension sees a trunk call")
	}
	if e, ok := VisibleEvent(auth.Principal{Role: "readonly"}, ended); !ok || e.CDR == nil {
		t.Fatal("readonly lost the CDR")
	}
	if !EventsFiltered(user) || EventsFiltered(auth.Principal{Role: "admin"}) {
		t.Fatal("EventsFiltered")
	}
	// call.new carries only the caller's channel: the called extension
	// sees it (it is about to ring), a third one does not.
	ringing := pbx.Event{Type: pbx.EvCallNew, Call: &pbx.Call{ID: "2", From: "1002", To: "1001", Channels: []pbx.Channel{{Exten: "1002"}}}}
	if _, ok := VisibleEvent(user, ringing); !ok {
		t.Fatal("the called extension misses call.new")
	}
	if _, ok := VisibleEvent(auth.Principal{Role: "user", Extension: "1003"}, ringing); ok {
		t.Fatal("a third extension sees the call")
	}
}

// TestOutboundCallerIDs: a click-to-call may present only a number
// configured for the principal, or for its tenant when it has none.
func TestOutboundCallerIDs(t *testing.T) {
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Extensions: []pbx.ExtensionEntry{{Number: "1001"}, {Number: "1002"}}}}}, nopCDRs{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	core.SetEngine(okEngine{core})
	svc := NewService(core).WithCallerIDs(map[string][]string{"a": {"+420222111000", "+420222111001"}})
	ctx := context.Background()
	admin := auth.Principal{Tenant: "a", Name: "admin", Role: "admin"}
	narrow := auth.Principal{Tenant: "a", Name: "crm", Role: "admin", CallerIDs: []string{"+420222111001"}}
	for _, tc := range []struct {
		p       auth.Principal
		cid     string
		allowed bool
	}{
		{admin, "+420222111000", true}, {admin, "+420999", false}, {narrow, "+420222111001", true}, {narrow, "+420222111000", false},
		{admin, "", true},
	} {
		_, err := svc.Originate(ctx, tc.p, pbx.OriginateRequest{From: "1001", To: "1002", OutboundCallerID: tc.cid}, false)
		if got := !errors.Is(err, ErrForbidden); got != tc.allowed {
			t.Errorf("%s presenting %q: %v, want allowed=%v", tc.p.Name, tc.cid, err, tc.allowed)
		}
	}
	if _, err := NewService(core).Originate(ctx, admin, pbx.OriginateRequest{From: "1001", To: "1002", OutboundCallerID: "+420222111000"}, false); !errors.Is(err, ErrForbidden) {
		t.Errorf("no list configured: %v", err)
	}
}

// TestLocationIsTheTenants: date-only filters of the vendor dialects mean
// the tenant's days, so the service hands out the tenant's zone (UTC when
// none is configured).
func TestLocationIsTheTenants(t *testing.T) {
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local", Location: warsaw},
		{Name: "b", Domain: "b.local"}}}, nopCDRs{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	svc := NewService(core)
	if got := svc.Location(auth.Principal{Tenant: "a"}); got != warsaw {
		t.Fatalf("tenant a: %v", got)
	}
	if got := svc.Location(auth.Principal{Tenant: "b"}); got != time.UTC {
		t.Fatalf("tenant b: %v", got)
	}
}
