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
	"log/slog"
	"net/netip"
	"strings"
	"sync"
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

// newNonce makes a stateless nonce: issue time, an HMAC over it and the
// realm (so a nonce from one tenant is useless in another), and a shorter
// HMAC that also covers the client (transport and source address), so a
// captured Authorization header is worthless from any other socket. Any
// node holding the key can check it without shared state.
func (e *Engine) newNonce(realm, client string, now time.Time) string {
	var buf [nonceLen]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(now.UnixNano()))
	copy(buf[8:24], e.nonceMAC(buf[:8], realm, "")[:16])
	copy(buf[24:], e.nonceMAC(buf[:8], realm, client)[:8])
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

const nonceLen = 8 + 16 + 8

func (e *Engine) nonceMAC(ts []byte, realm, client string) []byte {
	mac := hmac.New(sha256.New, e.nonceKey)
	mac.Write(ts)
	mac.Write([]byte(realm))
	if client != "" {
		mac.Write([]byte{0})
		mac.Write([]byte(client))
	}
	return mac.Sum(nil)
}

// nonceState is the verdict on a nonce.
type nonceState int

const (
	nonceBad   nonceState = iota
	nonceFresh            // ours, in time, issued to this client
	nonceStale            // ours, but expired: the phone should retry without a new password prompt
	nonceMoved            // ours and in time, but issued to another client
)

func (e *Engine) checkNonce(nonce, realm, client string, now time.Time) nonceState {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceLen {
		return nonceBad
	}
	if !hmac.Equal(e.nonceMAC(raw[:8], realm, "")[:16], raw[8:24]) {
		return nonceBad
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	if now.Sub(issued) > nonceLifetime || issued.After(now.Add(time.Minute)) {
		return nonceStale
	}
	if !hmac.Equal(e.nonceMAC(raw[:8], realm, client)[:8], raw[24:]) {
		return nonceMoved
	}
	return nonceFresh
}

// nonceTracker remembers the highest nonce-count accepted per nonce, so a
// response is never accepted twice (RFC 7616 3.3: nc must increase). Only
// nonces that authenticated successfully are kept, for at most their
// lifetime, so an unauthenticated sender cannot grow it; max bounds it
// anyway.
type nonceTracker struct {
	mu     sync.Mutex
	max    int
	seen   map[string]nonceUse
	warned bool
}

type nonceUse struct {
	nc      uint64
	expires time.Time
}

func newNonceTracker(max int) *nonceTracker {
	return &nonceTracker{max: max, seen: map[string]nonceUse{}}
}

// use records nc for nonce and reports whether it is new (greater than any
// count accepted before). A response without qop carries no count: its
// nonce is single-use.
func (n *nonceTracker) use(nonce string, nc uint64, now time.Time, log *slog.Logger) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if u, ok := n.seen[nonce]; ok && now.Before(u.expires) && nc <= u.nc {
		return false
	}
	if len(n.seen) >= n.max {
		n.sweepLocked(now)
	}
	for k := range n.seen { // still full: forget an arbitrary entry
		if len(n.seen) < n.max {
			break
		}
		delete(n.seen, k)
		if !n.warned {
			n.warned = true
			log.Warn("digest nonce table full: forgetting old nonces", "max", n.max)
		}
	}
	n.seen[nonce] = nonceUse{nc: nc, expires: now.Add(nonceLifetime + time.Minute)}
	return true
}

func (n *nonceTracker) sweep(now time.Time) {
	n.mu.Lock()
	n.sweepLocked(now)
	n.mu.Unlock()
}

func (n *nonceTracker) sweepLocked(now time.Time) {
	for k, u := range n.seen {
		if now.After(u.expires) {
			delete(n.seen, k)
		}
	}
}

// challenge renders a WWW-Authenticate/Proxy-Authenticate value.
func (e *Engine) challenge(realm, client string, stale bool, now time.Time) string {
	c := digest.Challenge{Realm: realm, Nonce: e.newNonce(realm, client, now), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// authResult is the outcome of checking a request's credentials.
type authResult struct {
	user  string
	ok    bool
	stale bool
	// replay marks a valid-looking response refused because it was used
	// before or elsewhere: not a password guess.
	replay bool
	why    string // for logs; never contains secrets
}

// verifyDigest checks an Authorization/Proxy-Authorization value against
// the extension's HA1. client names the sender (transport and source
// address, see clientOf); lookup returns "" for unknown users. A nonce
// issued to another client, or a response already seen, is refused as
// stale: an honest phone just retries with a fresh challenge, a replay
// gets nowhere.
func (e *Engine) verifyDigest(hdr, method, realm, client string, now time.Time, lookup func(user string) string) authResult {
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
	switch e.checkNonce(cr.Nonce, realm, client, now) {
	case nonceBad:
		res.why = "foreign nonce"
		return res
	case nonceStale:
		res.stale = true
		res.why = "stale nonce"
		return res
	case nonceMoved:
		res.stale, res.replay = true, true
		res.why = "nonce issued to another client"
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
	if !e.nonces.use(cr.Nonce, uint64(cr.Nc), now, e.log) {
		res.stale, res.replay = true, true
		res.why = "replayed nonce count"
		return res
	}
	res.ok = true
	return res
}

// clientOf names the sender of a request for nonce binding: its IP
// address. Not the port: phones retry a challenged request from a new TCP
// connection, NATs move UDP ports, and SIP clients may answer a challenge
// from another socket than the one it reached; a replay from the same
// address is caught by the nonce-count instead.
func clientOf(req interface {
	Transport() string
	Source() string
}) string {
	src := req.Source()
	if ap, err := netip.ParseAddrPort(src); err == nil {
		return ap.Addr().Unmap().String()
	}
	return src
}
