package native

import (
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// SetAudit enables the audit log of state changes and sensitive reads.
func (a *API) SetAudit(l *audit.Log) { a.audit = l }

func (a *API) queryAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if a.audit == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "no audit log")
		return
	}
	q := r.URL.Query()
	f := audit.Filter{Tenant: p.Tenant, Principal: q.Get("principal"), Action: q.Get("action")}
	if err := parseRange(q, &f.From, &f.To, &f.Limit, &f.Offset); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	rows, total, err := a.audit.Query(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "entries": rows})
}
