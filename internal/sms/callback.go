package sms

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// CallbackPath is where gateways report delivery, on the node's HTTP
// listener: POST /sms/status/{tenant}.
const CallbackPath = "/sms/status/"

// maxCallbackBody bounds a status callback: a few fields.
const maxCallbackBody = 16 << 10

// CallbackHandler serves POST /sms/status/{tenant}: a gateway's delivery
// report, authenticated by the tenant's shared secret in the
// X-SMS-Secret header (or the secret query parameter, for gateways that
// only take a URL), compared in constant time. The report is a JSON
// object or a form with "id" (ours) or "ref" (the gateway's), "status"
// (a state name, any case), optional "cost" (grosze) and "error".
// Answers: 204 applied (or stale, ignored), 400 bad report, 401 bad
// secret, 404 unknown message, 405 another method.
func (b *Outbox) CallbackHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CallbackPath+"{tenant}", b.callback)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func secretOK(got, want string) bool {
	if want == "" || got == "" {
		return false
	}
	// Hashing first makes the comparison's time independent of the
	// lengths too.
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (b *Outbox) callback(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	tc, ok := b.o.Tenants[tenant]
	secret := r.Header.Get("X-SMS-Secret")
	if secret == "" {
		secret = r.URL.Query().Get("secret")
	}
	if !ok || !secretOK(secret, tc.CallbackSecret) {
		b.log.Warn("sms status callback refused", "remote", r.RemoteAddr, "reason", "bad secret or tenant")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	u, err := readCallback(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u.Tenant = tenant
	if err := b.Report(r.Context(), u); err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
			http.Error(w, "no such message", http.StatusNotFound)
		case errors.Is(err, pbx.ErrInvalidArgument):
			http.Error(w, "bad status", http.StatusBadRequest)
		case errors.Is(err, pbx.ErrShuttingDown):
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		default:
			b.log.Error("sms status callback", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		return
	}
	b.log.Debug("sms status callback", slog.String("tenant", tenant), slog.String("status", string(u.State)))
	w.WriteHeader(http.StatusNoContent)
}

// readCallback reads a report from JSON or a form.
func readCallback(w http.ResponseWriter, r *http.Request) (Update, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	get := url.Values{}
	if ct == "application/json" {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return Update{}, fmt.Errorf("body: %w", err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return Update{}, errors.New("body is not a JSON object")
		}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				get.Set(k, x)
			case float64:
				get.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return Update{}, fmt.Errorf("form: %w", err)
		}
		get = r.PostForm
	}
	st, ok := ParseState(get.Get("status"))
	if !ok {
		return Update{}, errors.New("status must be a state name (DELIVERED, UNDELIVERED, ...)")
	}
	u := Update{ID: get.Get("id"), Ref: get.Get("ref"), State: st, Error: clip(get.Get("error"))}
	if (u.ID == "") == (u.Ref == "") || len(u.ID) > 64 || len(u.Ref) > 128 {
		return Update{}, errors.New("give id or ref")
	}
	if c := get.Get("cost"); c != "" {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil || v < 0 || v > 1e9 {
			return Update{}, errors.New("cost must be a whole number of grosze")
		}
		u.Costed, u.Cost = true, v
	}
	return u, nil
}
