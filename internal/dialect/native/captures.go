package native

import (
	"errors"
	"net/http"
	"os"
	"strconv"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/capture"
)

// openCapture finds the PCAP of CDR {id}; it answers the error itself.
func (a *API) openCapture(w http.ResponseWriter, r *http.Request, p auth.Principal) (string, string, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "id must be an integer")
		return "", "", false
	}
	c, err := a.cdrs.GetCDR(r.Context(), p.Tenant, id)
	if err != nil {
		a.fail(w, r, err)
		return "", "", false
	}
	path, err := a.core.CapturePath(p.Tenant, c.UniqueID)
	if err != nil {
		a.fail(w, r, err)
		return "", "", false
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		writeError(w, http.StatusNotFound, "not_found", "no capture for this call (capture disabled, or deleted by retention)")
		return "", "", false
	}
	a.log.Info("capture accessed", "user", p.Name, "tenant", p.Tenant, "cdr", id, "remote", r.RemoteAddr, "path", r.URL.Path)
	return path, c.UniqueID, true
}

func (a *API) cdrPCAP(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	path, uid, ok := a.openCapture(w, r, p)
	if !ok {
		return
	}
	a.serveFile(w, r, path, uid+".pcap", "application/vnd.tcpdump.pcap", "no capture for this call")
}

func (a *API) cdrSIP(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	path, _, ok := a.openCapture(w, r, p)
	if !ok {
		return
	}
	msgs, err := capture.ReadSIP(path, r.URL.Query().Get("raw") == "1" || r.URL.Query().Get("raw") == "true")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}
