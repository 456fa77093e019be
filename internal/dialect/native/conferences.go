package native

import (
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func (a *API) listConferences(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	confs, err := a.core.Conferences(p.Tenant)
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
	if p.Restricted() {
		writeError(w, http.StatusForbidden, "forbidden", "your role may not call other stations into a conference")
		return
	}
	conf, calls, err := a.core.CreateConference(r.Context(), p.Tenant, body.Members, body.Break)
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
	if p.Restricted() && (len(body.Numbers) != 1 || !owns(p, body.Numbers[0]) || body.Break) {
		writeError(w, http.StatusForbidden, "forbidden", "you may only call your own extension into a conference")
		return
	}
	calls, err := a.core.ConferenceInvite(r.Context(), p.Tenant, r.PathValue("name"), body.Numbers, body.Break)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"calls": each(calls, toWireCall)})
}

// kickFromConference hangs up one member's channel.
func (a *API) kickFromConference(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	confs, err := a.core.Conferences(p.Tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	name, id := r.PathValue("name"), r.PathValue("channel")
	var member *pbx.ConferenceMember
	found := false
	for _, c := range confs {
		if c.Name != name {
			continue
		}
		found = true
		for i := range c.Members {
			if m := &c.Members[i]; m.Channel.UniqueID == id || m.Channel.Name == id {
				member = m
			}
		}
	}
	switch {
	case !found:
		writeError(w, http.StatusNotFound, "not_found", "no such conference")
		return
	case member == nil:
		writeError(w, http.StatusNotFound, "not_found", "no such member in this conference")
		return
	case p.Restricted() && !owns(p, member.Channel.Exten):
		writeError(w, http.StatusForbidden, "forbidden", "you may only remove your own extension")
		return
	}
	if err := a.core.Hangup(r.Context(), p.Tenant, member.Channel.UniqueID); err != nil {
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
	if body.Listener == "" {
		body.Listener = p.Extension
	}
	if body.Listener == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "listener is required")
		return
	}
	call, err := a.core.Monitor(r.Context(), p.Tenant, r.PathValue("id"), body.Listener)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toWireCall(call))
}
