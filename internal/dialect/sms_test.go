package dialect

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// memSMS is an outbox keeping messages in memory.
type memSMS struct{ msgs []sms.Message }

func (m *memSMS) Send(_ context.Context, r sms.Request) (sms.Message, error) {
	msg := sms.Message{ID: string(rune('a' + len(m.msgs))), Tenant: r.Tenant, Owner: r.Owner, To: r.To, Body: r.Body, State: sms.Queue}
	m.msgs = append(m.msgs, msg)
	return msg, nil
}

func (m *memSMS) Get(_ context.Context, tenant, id string) (sms.Message, error) {
	for _, x := range m.msgs {
		if x.Tenant == tenant && x.ID == id {
			return x, nil
		}
	}
	return sms.Message{}, store.ErrNotFound
}

func (m *memSMS) List(_ context.Context, f sms.Filter) ([]sms.Message, int, error) {
	var out []sms.Message
	for _, x := range m.msgs {
		if x.Tenant == f.Tenant && (f.Owner == "" || x.Owner == f.Owner) {
			out = append(out, x)
		}
	}
	return out, len(out), nil
}

// TestSMSRightsAndScope: sending needs sms.send; sms.read reads the
// tenant's messages, sms.send alone or a restricted role only its own,
// and another tenant's or account's message is not found; events follow
// the same rule.
func TestSMSRightsAndScope(t *testing.T) {
	ctx := context.Background()
	if _, err := NewService(nil).SendSMS(ctx, auth.Principal{Tenant: "a", Name: "x", Role: "admin"}, "600100200", "x", false); !errors.Is(err, pbx.ErrNotSupported) {
		t.Fatalf("no outbox: %v", err)
	}
	box := &memSMS{}
	s := NewService(nil).WithSMS(box)
	admin := auth.Principal{Tenant: "a", Name: "crm", Role: "admin", APIKey: true}
	user := auth.Principal{Tenant: "a", Name: "u1", Role: "user", Extension: "101"}
	sender := auth.Principal{Tenant: "a", Name: "bot", Role: "admin", Rights: map[string]bool{auth.SendSMS: true}}
	reader := auth.Principal{Tenant: "a", Name: "ro", Role: "readonly"}
	other := auth.Principal{Tenant: "b", Name: "crm", Role: "admin", APIKey: true}
	if _, err := s.SendSMS(ctx, reader, "600100200", "x", false); !errors.Is(err, ErrForbidden) {
		t.Fatalf("readonly sent: %v", err)
	}
	mAdmin, _ := s.SendSMS(ctx, admin, "600100200", "x", false)
	mUser, _ := s.SendSMS(ctx, user, "600100200", "x", false)
	mSender, _ := s.SendSMS(ctx, sender, "600100200", "x", false)
	if mAdmin.Owner != "key:crm" || mUser.Owner != "user:u1" || mAdmin.Tenant != "a" {
		t.Fatalf("owners %+v %+v", mAdmin, mUser)
	}
	for _, tc := range []struct {
		name string
		p    auth.Principal
		sees []string
	}{{"admin", admin, []string{mAdmin.ID, mUser.ID, mSender.ID}}, {"readonly", reader, []string{mAdmin.ID, mUser.ID, mSender.ID}},
		{"user", user, []string{mUser.ID}}, {"send only", sender, []string{mSender.ID}}, {"other tenant", other, nil}} {
		list, n, err := s.SMSList(ctx, tc.p, sms.Filter{})
		if err != nil || n != len(tc.sees) || len(list) != len(tc.sees) {
			t.Errorf("%s lists %d: %v", tc.name, n, err)
		}
		for _, m := range []sms.Message{mAdmin, mUser, mSender} {
			want := false
			for _, id := range tc.sees {
				want = want || id == m.ID
			}
			_, err := s.SMS(ctx, tc.p, m.ID)
			if want != (err == nil) || (!want && !errors.Is(err, pbx.ErrNotFound)) {
				t.Errorf("%s reads %s (%s): %v", tc.name, m.ID, m.Owner, err)
			}
			ev := pbx.Event{Type: sms.EvStatus, Data: map[string]string{"id": m.ID, "owner": m.Owner, "status": "SENT"}}
			// (Events reach only their own tenant's subscribers.)
			if _, vis := VisibleEvent(tc.p, ev); tc.p.Tenant == "a" && vis != want {
				t.Errorf("%s sees the event of %s: %v", tc.name, m.ID, vis)
			}
		}
	}
	if _, _, err := s.SMSList(ctx, auth.Principal{Tenant: "a", Name: "n", Role: "admin", Rights: map[string]bool{auth.ReadCDRs: true}}, sms.Filter{}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("no sms right: %v", err)
	}
}
