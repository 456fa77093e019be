package cloudpbx

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
)

// The spec's own curl example upgrades with "Sec-WebSocket-Key:
// SGVsbG8sIHdvcmxkIQ==", which is base64 of 13 bytes ("Hello, world!"),
// not the 16 RFC 6455 asks for; the WebSocket library refuses it with 400.
// So that the example works as printed, a key that is valid base64 of 1 to
// 64 bytes is accepted: the library is given a placeholder 16-byte key and
// the answer's Sec-WebSocket-Accept is computed from the client's own key,
// which is all the key is for (proving the server read the handshake).

// placeholderKey is a valid 16-byte key for the library.
const placeholderKey = "AAAAAAAAAAAAAAAAAAAAAA=="

// tolerateKey returns the request and writer to hand to websocket.Accept:
// unchanged for a conforming key, else with the placeholder key in and
// the client's accept value out.
func tolerateKey(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return w, r
	}
	key := strings.TrimSpace(keys[0])
	v, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(v) == 16 || len(v) == 0 || len(v) > 64 {
		return w, r
	}
	r = r.Clone(r.Context())
	r.Header.Set("Sec-WebSocket-Key", placeholderKey)
	return &acceptWriter{ResponseWriter: w, accept: secWebSocketAccept(key)}, r
}

// secWebSocketAccept is RFC 6455's answer to a key.
func secWebSocketAccept(key string) string {
	h := sha1.New()
	h.Write([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// acceptWriter puts the client's accept value in the 101 answer; Unwrap
// lets the library reach the connection to hijack it.
type acceptWriter struct {
	http.ResponseWriter
	accept string
}

func (a *acceptWriter) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols {
		a.Header().Set("Sec-WebSocket-Accept", a.accept)
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *acceptWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }
