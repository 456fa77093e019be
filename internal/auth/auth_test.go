package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordsAndKeys(t *testing.T) {
	d, err := NewDirectory([]User{
		{Tenant: "a", Name: "admin", Password: "s3cret-pass", Role: "admin"},
		{Tenant: "a", Name: "bob", Password: "bob-pass-123", Role: "user", Extension: "1001"},
		{Tenant: "b", Name: "bob", Password: "other-bob-pw", Role: "user"},
	}, []APIKey{{Tenant: "a", Name: "crm", Key: "MyExampleKey", Role: "admin"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range d.users["admin"] {
		if strings.Contains(u.hash, "s3cret") || !strings.HasPrefix(u.hash, "$argon2id$") {
			t.Fatalf("stored %q", u.hash)
		}
	}
	cases := []struct {
		name, tenant, user, pw string
		ok                     bool
	}{
		{"right", "", "admin", "s3cret-pass", true},
		{"right again (cached)", "", "admin", "s3cret-pass", true},
		{"wrong", "", "admin", "s3cret-pasS", false},
		{"unknown", "", "eve", "x", false},
		{"ambiguous name needs tenant", "", "bob", "bob-pass-123", false},
		{"with tenant", "a", "bob", "bob-pass-123", true},
		{"other tenant's password", "a", "bob", "other-bob-pw", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := d.CheckPassword(tc.tenant, tc.user, tc.pw)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("err = %v", err)
			}
			if tc.ok && p.Name != tc.user {
				t.Fatalf("principal %+v", p)
			}
		})
	}
	if p, err := d.CheckAPIKey("MyExampleKey"); err != nil || p.Tenant != "a" || !p.APIKey {
		t.Fatalf("key: %+v %v", p, err)
	}
	if _, err := d.CheckAPIKey("myexamplekey"); err == nil {
		t.Fatal("wrong key accepted")
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	for _, h := range []string{"", "$argon2id$", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if VerifyPassword(h, "x") {
			t.Fatalf("%q verified", h)
		}
	}
}

func TestRights(t *testing.T) {
	cases := []struct {
		role, action string
		want         bool
	}{
		{"admin", ControlCalls, true}, {"readonly", ControlCalls, false}, {"readonly", ReadCDRs, true},
		{"user", ReadCDRs, false}, {"user", ControlCalls, true}, {"nobody", ReadCalls, false},
	}
	for _, tc := range cases {
		if got := (Principal{Role: tc.role}).Can(tc.action); got != tc.want {
			t.Errorf("%s %s = %v", tc.role, tc.action, got)
		}
	}
}
