package native

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// wireSMS is a text message on the native wire.
type wireSMS struct {
	ID          string    `json:"id"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Body        string    `json:"body"`
	State       string    `json:"state"`
	Test        bool      `json:"test,omitempty"`
	Queued      time.Time `json:"queued"`
	Accepted    time.Time `json:"accepted,omitzero"`
	Sent        time.Time `json:"sent,omitzero"`
	Done        time.Time `json:"done,omitzero"`
	Updated     time.Time `json:"updated,omitzero"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Error       string    `json:"error,omitempty"`
	Driver      string    `json:"driver,omitempty"`
	Ref         string    `json:"ref,omitempty"`
	Cost        *int64    `json:"cost,omitempty"` // grosze; absent when not priced
	Zone        string    `json:"zone,omitempty"`
}

func toWireSMS(m sms.Message) wireSMS {
	w := wireSMS{ID: m.ID, From: m.From, To: m.To, Body: m.Body, State: string(m.State), Queued: m.Queued, Accepted: m.Accepted,
		Sent: m.Sent, Done: m.Done, Updated: m.Updated, Attempts: m.Attempts, NextAttempt: m.NextAttempt, Error: m.Error,
		Driver: m.Driver, Ref: m.Ref, Zone: m.Zone}
	if m.Rated {
		c := m.Cost
		w.Cost = &c
	}
	return w
}

// sendSMS is POST /api/v1/sms {"to","body","test"}: 202 with the queued
// message (follow it with GET or the sms.status events); test validates
// and answers 200 with an id that is neither stored nor sent.
func (a *API) sendSMS(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		To   string `json:"to"`
		Body string `json:"body"`
		Test bool   `json:"test"`
	}
	if !decode(w, r, &body) {
		return
	}
	m, err := a.svc.SendSMS(r.Context(), p, body.To, body.Body, body.Test)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := toWireSMS(m)
	if body.Test {
		out.Test = true
		writeJSON(w, http.StatusOK, out)
		return
	}
	w.Header().Set("Location", "/api/v1/sms/"+m.ID)
	writeJSON(w, http.StatusAccepted, out)
}

// listSMS is GET /api/v1/sms?state=&from=&to=&limit=&offset=: newest
// first.
func (a *API) listSMS(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	f, err := parseSMSQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	rows, total, err := a.svc.SMSList(r.Context(), p, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit := f.Limit
	if limit == 0 {
		limit = store.DefaultLimit
	}
	out := each(rows, toWireSMS)
	if out == nil {
		out = []wireSMS{} // [] rather than null for no messages
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "limit": min(limit, store.MaxLimit), "offset": f.Offset, "sms": out})
}

func parseSMSQuery(r *http.Request) (sms.Filter, error) {
	q := r.URL.Query()
	var f sms.Filter
	var err error
	if v := q.Get("state"); v != "" {
		st, ok := sms.ParseState(v)
		if !ok {
			return f, fmt.Errorf("state %q is not a message state", v)
		}
		f.State = st
	}
	if f.From, err = parseTime(q.Get("from")); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.To, err = parseTime(q.Get("to")); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	for _, k := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := q.Get(k.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, fmt.Errorf("%s %q is not a non-negative integer", k.name, v)
			}
			*k.dst = n
		}
	}
	return f, nil
}

// getSMS is GET /api/v1/sms/{id}.
func (a *API) getSMS(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		writeError(w, http.StatusNotFound, "not_found", "no such message")
		return
	}
	m, err := a.svc.SMS(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireSMS(m))
}
