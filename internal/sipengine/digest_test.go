package sipengine

import (
	"fmt"
	"testing"
	"time"
)

func TestDigestVerification(t *testing.T) {
	e := &Engine{nonceKey: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Unix(1_800_000_000, 0)
	realm := "pbx.example"
	ha1 := HA1("1001", realm, "pw")
	lookup := func(u string) string {
		if u == "1001" {
			return ha1
		}
		return ""
	}
	nonce := e.newNonce(realm, now)
	uri := "sip:1002@pbx.example"
	resp := func(user, nonce, qop string) string {
		ha2 := md5hex("INVITE:" + uri)
		r := md5hex(ha1 + ":" + nonce + ":" + ha2)
		if qop != "" {
			r = md5hex(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, nonce, 1, "abc", qop, ha2))
		}
		h := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5`, user, realm, nonce, uri, r)
		if qop != "" {
			h += fmt.Sprintf(`, qop=%s, nc=00000001, cnonce="abc"`, qop)
		}
		return h
	}
	cases := []struct {
		name  string
		hdr   string
		at    time.Time
		realm string
		ok    bool
		stale bool
	}{
		{"qop auth", resp("1001", nonce, "auth"), now, realm, true, false},
		{"no qop (RFC 2069 phones)", resp("1001", nonce, ""), now, realm, true, false},
		{"expired nonce is stale", resp("1001", nonce, "auth"), now.Add(nonceLifetime + time.Second), realm, false, true},
		{"nonce of another realm", resp("1001", e.newNonce("other", now), "auth"), now, realm, false, false},
		{"forged nonce", resp("1001", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "auth"), now, realm, false, false},
		{"unknown user", resp("1002", nonce, "auth"), now, realm, false, false},
		{"wrong realm", resp("1001", nonce, "auth"), now, "x", false, false},
		{"empty", "", now, realm, false, false},
		{"garbage", "Digest ,,,=", now, realm, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.verifyDigest(tc.hdr, "INVITE", tc.realm, tc.at, lookup)
			if r.ok != tc.ok || r.stale != tc.stale {
				t.Fatalf("got %+v", r)
			}
		})
	}
	// A right response for another method fails: the method is in HA2.
	if r := e.verifyDigest(resp("1001", nonce, "auth"), "REGISTER", realm, now, lookup); r.ok {
		t.Fatal("response for INVITE accepted for REGISTER")
	}
}

func FuzzVerifyDigest(f *testing.F) {
	e := &Engine{nonceKey: []byte("k")}
	f.Add(`Digest username="1001", realm="r", nonce="n", uri="sip:x", response="0", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest username=`)
	f.Fuzz(func(t *testing.T, hdr string) {
		if r := e.verifyDigest(hdr, "INVITE", "r", time.Now(), func(string) string { return md5hex("x") }); r.ok {
			t.Fatalf("fuzzed header authenticated: %q", hdr)
		}
	})
}
