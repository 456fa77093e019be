package native

import (
	"fmt"
	"net/http"
	"strconv"

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
	var err error
	if f.From, err = parseTime(q.Get("from")); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("from: %v", err))
		return
	}
	if f.To, err = parseTime(q.Get("to")); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("to: %v", err))
		return
	}
	for _, k := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := q.Get(k.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "invalid_argument", k.name+" must be a non-negative integer")
				return
			}
			*k.dst = n
		}
	}
	rows, total, err := a.audit.Query(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "entries": rows})
}
