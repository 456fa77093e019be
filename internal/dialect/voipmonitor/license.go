package voipmonitor

import (
	"fmt"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// licenseReply is apilicensecheck.php's answer: status 0 is fine, 1 a
// problem, with a sentence.
type licenseReply struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// license serves php/apilicensecheck.php. switchboard has no licence, so
// licenseCheck always passes; licenseCallsLimitCheck reports the live
// calls of the caller's tenant against the configured calls_limit option
// honestly (no limit configured: always fine). Counting calls needs a
// principal, so that task takes the GUI session cookie or user and
// password, where VoIPmonitor's asks for none (README: deviations).
func (a *API) license(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	var p auth.Principal
	defer func() { a.d.AuditRequest(r, p, Name, "license "+r.URL.Query().Get("task"), r.URL.Path, sw.status, "") }()
	if err := form(sw, r); err != nil {
		a.fail(sw, r, err)
		return
	}
	switch r.Form.Get("task") {
	case "licenseCheck":
		writeJSON(sw, http.StatusOK, licenseReply{Status: 0, Message: "License OK."})
	case "licenseCallsLimitCheck":
		var err error
		if r.Form.Get("user") != "" {
			p, err = a.d.Gate.Login(r.Context(), "", r.Form.Get("user"), r.Form.Get("password"), dialect.RemoteIP(r))
		} else {
			p, err = a.session(r)
		}
		if err != nil {
			a.fail(sw, r, err)
			return
		}
		calls, err := a.d.Service.Calls(p)
		if err != nil {
			a.fail(sw, r, err)
			return
		}
		switch {
		case a.callsLimit == 0:
			writeJSON(sw, http.StatusOK, licenseReply{Status: 0, Message: "License OK. No concurrent calls limit is configured."})
		case len(calls) > a.callsLimit:
			writeJSON(sw, http.StatusOK, licenseReply{Status: 1, Message: fmt.Sprintf("You have exceeded the limit for concurrent calls: %d active, limit %d.", len(calls), a.callsLimit)})
		default:
			writeJSON(sw, http.StatusOK, licenseReply{Status: 0, Message: fmt.Sprintf("License OK. %d active calls, limit %d.", len(calls), a.callsLimit)})
		}
	default:
		a.fail(sw, r, paramErr("task: licenseCheck or licenseCallsLimitCheck"))
	}
}
