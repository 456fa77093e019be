package native

import (
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

func (a *API) listConferences(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	confs, err := a.svc.Conferences(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conferences": each(confs, toWireConference)})
}

// createConference is WebTAPI's call_create_conf: a new room with the
// given stations called into it.
func (a *API) createConference(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Members []string `json:"members"`
		Break   bool     `json:"break"`
	}
	if !decode(w, r, &body) {
		return
	}
	conf, calls, err := a.svc.CreateConference(r.Context(), p, body.Members, body.Break)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"conference": toWireConference(conf), "calls": each(calls, toWireCall)})
}

func (a *API) inviteToConference(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Numbers []string `json:"numbers"`
		Break   bool     `json:"break"`
	}
	if !decode(w, r, &body) {
		return
	}
	calls, err := a.svc.ConferenceInvite(r.Context(), p, r.PathValue("name"), body.Numbers, body.Break)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"calls": each(calls, toWireCall)})
}

// kickFromConference hangs up one member's channel.
func (a *API) kickFromConference(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if err := a.svc.ConferenceKick(r.Context(), p, r.PathValue("name"), r.PathValue("channel")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// monitor is WebTAPI's chan_monitor: call a listener that hears both
// parties of a channel's call without being heard.
func (a *API) monitor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Listener string `json:"listener"`
	}
	if !decode(w, r, &body) {
		return
	}
	call, err := a.svc.Monitor(r.Context(), p, r.PathValue("id"), body.Listener)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toWireCall(call))
}
