package native

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// Webhooks is the dead-letter side of the webhook dispatcher.
type Webhooks = dialect.Webhooks

// SetWebhooks enables the dead-letter endpoints.
func (a *API) SetWebhooks(w Webhooks) { a.hooks = w }

type deadLetter struct {
	ID        int64     `json:"id"`
	Hook      string    `json:"hook"`
	URL       string    `json:"url"`
	Seq       uint64    `json:"seq"`
	Type      string    `json:"type"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	Time      time.Time `json:"time"`
	Body      string    `json:"body_base64"`
}

func (a *API) deadLetters(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if a.hooks == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "webhooks are not configured")
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "invalid_argument", "limit must be 1-10000")
			return
		}
		limit = n
	}
	ds, err := a.hooks.DeadLetters(r.Context(), p.Tenant, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]deadLetter, 0, len(ds))
	for _, d := range ds {
		out = append(out, deadLetter{ID: d.ID, Hook: d.Hook, URL: d.URL, Seq: d.Seq, Type: d.Type, Attempts: d.Attempts,
			LastError: d.LastError, Time: d.Time, Body: base64.StdEncoding.EncodeToString(d.Body)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": out})
}

func (a *API) retryDeadLetter(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if a.hooks == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "webhooks are not configured")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "id must be an integer")
		return
	}
	if err := a.hooks.Retry(r.Context(), p.Tenant, id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
