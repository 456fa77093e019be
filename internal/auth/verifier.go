package auth

import (
	"context"
	"crypto/sha1" //nolint:gosec // VIPTel's protocol is SHA-1 based; we cannot choose
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"
)

// VIPTelVerifier is hex SHA1("user:password"): what VIPTel clients prove
// knowledge of with SHA1(verifier:nonce). It is password-equivalent for
// that protocol, so it is kept like a password (never logged, never sent).
func VIPTelVerifier(user, password string) string {
	s := sha1.Sum([]byte(user + ":" + password))
	return hex.EncodeToString(s[:])
}

// CheckVIPTelResponse verifies a client's answer to the per-connection
// nonce: hex SHA1(verifier ":" nonce), compared in constant time.
func CheckVIPTelResponse(verifier, nonce, response string) bool {
	if verifier == "" || nonce == "" {
		return false
	}
	s := sha1.Sum([]byte(verifier + ":" + nonce))
	want := hex.EncodeToString(s[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(response))) == 1
}

// VIPTelPrincipal finds the user a VIPTel client names and checks its
// challenge response; users whose password is only an argon2id hash cannot
// use VIPTel (the protocol needs the SHA-1 verifier). It goes through
// LoginChallenge (lockout, ambiguity) without an address.
//
// Deprecated: use LoginChallenge with the connection's address and
// CheckVIPTelResponse, so the allowlist and per-address lockout apply.
func (d *Directory) VIPTelPrincipal(tenant, name, nonce, response string) (Principal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.loginChallenge(ctx, LoginAttempt{Tenant: tenant, Name: name}, func(p Principal) bool {
		return CheckVIPTelResponse(p.VIPTelVerifier, nonce, response)
	}, false)
}
