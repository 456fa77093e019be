package auth

import (
	"crypto/sha1"
	"encoding/hex"
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

func TestVIPTelVerifierAndRights(t *testing.T) {
	// SHA1("alice:secret"), from sha1sum.
	if v := VIPTelVerifier("alice", "secret"); v != "6985e52cea44a28695d5c440bd42f57e9f50b7b1" {
		t.Fatalf("verifier %q", v)
	}
	d, _ := NewDirectory([]User{
		{Tenant: "a", Name: "alice", Password: "secret", Role: "supervisor", Rights: map[string]bool{ReadCalls: true}},
		{Tenant: "a", Name: "hashed", PasswordHash: mustHash(t, "x-secret-123"), Role: "admin"},
	}, nil, nil)
	s := sha1Hex(VIPTelVerifier("alice", "secret") + ":nonce-1")
	if p, err := d.VIPTelPrincipal("a", "alice", "nonce-1", s); err != nil || p.Name != "alice" {
		t.Fatalf("viptel login: %v", err)
	}
	if _, err := d.VIPTelPrincipal("a", "alice", "nonce-2", s); err == nil {
		t.Fatal("response to another nonce accepted")
	}
	if _, err := d.VIPTelPrincipal("a", "hashed", "n", sha1Hex(":n")); err == nil {
		t.Fatal("a hash-only user logged in over VIPTel")
	}
	p, _ := d.CheckPassword("a", "alice", "secret")
	if !p.Can(ReadCalls) || p.Can(ReadCDRs) {
		t.Fatalf("customised rights not applied: %+v", p.Rights)
	}
	flags := Principal{Role: "readonly"}.VoIPmonitorFlags()
	if flags["can_cdr"] != 1 || flags["can_download_audio"] != 1 || flags["can_pcap"] != 0 || flags["is_admin"] != 0 || flags["can_listen_active_call"] != 0 {
		t.Fatalf("readonly flags %v", flags)
	}
	if f := (Principal{Role: "admin"}).VoIPmonitorFlags(); f["is_admin"] != 1 || f["can_pcap"] != 1 || f["enable_sensors"] != 1 {
		t.Fatalf("admin flags %v", f)
	}
}

func mustHash(t *testing.T, pw string) string {
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
