package native

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/devices"
)

// wireRelay is a relay on the native wire.
type wireRelay struct {
	ID      int       `json:"id"`
	Name    string    `json:"name"`
	Driver  string    `json:"driver"`
	State   int       `json:"state"` // 1 on (contact closed), 0 off
	Changed time.Time `json:"changed,omitzero"`
}

func toWireRelay(r devices.Relay) wireRelay {
	st := 0
	if r.On {
		st = 1
	}
	return wireRelay{ID: r.ID, Name: r.Name, Driver: r.Driver, State: st, Changed: r.Changed}
}

func relayID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 || id > 1<<30 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "relay id must be a positive number")
		return 0, false
	}
	return id, true
}

func (a *API) listRelays(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rs, err := a.svc.RelayList(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"relays": each(rs, toWireRelay)})
}

func (a *API) getRelay(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := relayID(w, r)
	if !ok {
		return
	}
	rl, err := a.svc.Relay(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireRelay(rl))
}

// setRelay switches a relay: {"state":1} on, {"state":0} off, with
// "pulse_ms" (on for that long, then off; 0: the relay's default pulse,
// -1: none).
func (a *API) setRelay(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := relayID(w, r)
	if !ok {
		return
	}
	var body struct {
		State   *int `json:"state"`
		PulseMS int  `json:"pulse_ms"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.State == nil || (*body.State != 0 && *body.State != 1) {
		writeError(w, http.StatusBadRequest, "invalid_argument", "state must be 0 or 1")
		return
	}
	if body.PulseMS < -1 || body.PulseMS > int(devices.MaxPulse/time.Millisecond) {
		writeError(w, http.StatusBadRequest, "invalid_argument", "pulse_ms must be -1 (none), 0 (the relay's default) or up to 60000")
		return
	}
	pulse := time.Duration(body.PulseMS) * time.Millisecond
	rl, err := a.svc.SetRelay(r.Context(), p, id, *body.State == 1, pulse)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireRelay(rl))
}
