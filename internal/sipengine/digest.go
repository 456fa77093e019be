package sipengine

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/icholy/digest"
)

// HA1 is MD5(user:realm:password), the password-equivalent a SIP registrar
// must keep (RFC 2617). Exported for cmd/switchboard, which derives it from
// configured passwords.
func HA1(user, realm, password string) string {
	return md5hex(user + ":" + realm + ":" + password)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newNonce makes a stateless nonce: issue time plus an HMAC over it and the
// realm, so any node holding the key can check it without shared state and
// a nonce from one tenant is useless in another.
func (e *Engine) newNonce(realm string, now time.Time) string {
	var buf [8 + 16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(now.UnixNano()))
	mac := hmac.New(sha256.New, e.nonceKey)
	mac.Write(buf[:8])
	mac.Write([]byte(realm))
	copy(buf[8:], mac.Sum(nil)[:16])
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// nonceState is the verdict on a nonce.
type nonceState int

const (
	nonceBad nonceState = iota
	nonceFresh
	nonceStale // ours, but expired: the phone should retry without a new password prompt
)

func (e *Engine) checkNonce(nonce, realm string, now time.Time) nonceState {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return nonceBad
	}
	mac := hmac.New(sha256.New, e.nonceKey)
	mac.Write(raw[:8])
	mac.Write([]byte(realm))
	if !hmac.Equal(mac.Sum(nil)[:16], raw[8:]) {
		return nonceBad
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	if now.Sub(issued) > nonceLifetime || issued.After(now.Add(time.Minute)) {
		return nonceStale
	}
	return nonceFresh
}

// challenge renders a WWW-Authenticate/Proxy-Authenticate value.
func (e *Engine) challenge(realm string, stale bool, now time.Time) string {
	c := digest.Challenge{Realm: realm, Nonce: e.newNonce(realm, now), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// authResult is the outcome of checking a request's credentials.
type authResult struct {
	user  string
	ok    bool
	stale bool
	why   string // for logs; never contains secrets
}

// verifyDigest checks an Authorization/Proxy-Authorization value against
// the extension's HA1. lookup returns "" for unknown users.
func (e *Engine) verifyDigest(hdr, method, realm string, now time.Time, lookup func(user string) string) authResult {
	if hdr == "" {
		return authResult{why: "no credentials"}
	}
	cr, err := digest.ParseCredentials(hdr)
	if err != nil {
		return authResult{why: "malformed credentials"}
	}
	res := authResult{user: cr.Username}
	if cr.Realm != realm {
		res.why = "wrong realm"
		return res
	}
	if alg := strings.ToUpper(cr.Algorithm); alg != "" && alg != "MD5" {
		res.why = "unsupported algorithm"
		return res
	}
	switch e.checkNonce(cr.Nonce, realm, now) {
	case nonceBad:
		res.why = "foreign nonce"
		return res
	case nonceStale:
		res.stale = true
		res.why = "stale nonce"
		return res
	}
	ha1 := lookup(cr.Username)
	if ha1 == "" {
		res.why = "unknown user"
		return res
	}
	ha2 := md5hex(method + ":" + cr.URI)
	var want string
	switch cr.QOP {
	case "":
		want = md5hex(ha1 + ":" + cr.Nonce + ":" + ha2)
	case "auth":
		want = md5hex(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, cr.Nonce, cr.Nc, cr.Cnonce, cr.QOP, ha2))
	default:
		res.why = "unsupported qop"
		return res
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(cr.Response))) != 1 {
		res.why = "wrong password"
		return res
	}
	res.ok = true
	return res
}
