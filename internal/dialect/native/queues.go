package native

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// QueueStatsReader computes queue statistics from the durable queue log.
type QueueStatsReader = dialect.QueueStatsReader

func (a *API) listQueues(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	qs, err := a.svc.Queues(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": each(qs, toWireQueue)})
}

func (a *API) queueCalls(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	calls, err := a.svc.QueueCalls(p, r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": each(calls, toWireQueueCaller)})
}

// shiftCaller is WebTAPI q_shift_caller.
func (a *API) shiftCaller(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Position int `json:"position"`
	}
	if !decode(w, r, &body) {
		return
	}
	qc, err := a.svc.QueueShift(p, r.PathValue("name"), r.PathValue("id"), body.Position)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireQueueCaller(qc))
}

// removeCaller is WebTAPI q_caller_del: ?to=NUMBER sends the caller
// there, otherwise it is hung up.
func (a *API) removeCaller(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if err := a.svc.QueueRemove(p, r.PathValue("name"), r.PathValue("id"), r.URL.Query().Get("to")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Number  string `json:"number"`
		Penalty int    `json:"penalty"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Penalty < 0 || body.Penalty > 1000 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "penalty must be 0-1000")
		return
	}
	m, err := a.svc.QueueLogin(p, r.PathValue("name"), body.Number, true, body.Penalty)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toWireQueueMember(m))
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if _, err := a.svc.QueueLogin(p, r.PathValue("name"), r.PathValue("number"), false, 0); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) pauseMember(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Paused *bool  `json:"paused"`
		Reason string `json:"reason"`
	}
	if !decode(w, r, &body) {
		return
	}
	number := r.PathValue("number")
	paused := body.Paused == nil || *body.Paused
	if len(body.Reason) > 128 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "reason longer than 128 characters")
		return
	}
	queue := r.PathValue("name")
	if queue == "*" {
		queue = ""
	}
	ms, err := a.svc.QueuePause(p, queue, number, paused, body.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": each(ms, toWireQueueMember)})
}

func (a *API) queueStats(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if a.qstats == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "no queue log store")
		return
	}
	q := r.URL.Query()
	f := pbx.QueueStatsFilter{Tenant: p.Tenant, Queue: q.Get("queue")}
	var err error
	if f.From, err = parseTime(q.Get("from")); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "from: "+err.Error())
		return
	}
	if f.To, err = parseTime(q.Get("to")); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "to: "+err.Error())
		return
	}
	if v := q.Get("service_level"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 3600 {
			writeError(w, http.StatusBadRequest, "invalid_argument", "service_level must be seconds, 1-3600")
			return
		}
		f.ServiceLevel = time.Duration(n) * time.Second
	}
	qs, err := a.qstats.QueueStats(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	as, err := a.qstats.AgentStats(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": each(qs, toWireQueueStats), "agents": each(as, toWireAgentStats)})
}
