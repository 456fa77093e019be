package native

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// SetArtifacts lets the API serve recordings' audio and calls' captures.
func (a *API) SetArtifacts(s dialect.Artifacts) { a.arts = s }

// captureOf finds the unique id of CDR {id} whose capture is asked for;
// it answers the error itself.
func (a *API) captureOf(w http.ResponseWriter, r *http.Request, p auth.Principal) (string, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "id must be an integer")
		return "", false
	}
	c, err := a.cdrs.GetCDR(r.Context(), p.Tenant, id)
	if err != nil {
		a.fail(w, r, err)
		return "", false
	}
	if a.arts == nil {
		a.fail(w, r, fmt.Errorf("captures: %w", pbx.ErrNotSupported))
		return "", false
	}
	a.log.Info("capture accessed", "user", p.Name, "tenant", p.Tenant, "cdr", id, "remote", r.RemoteAddr, "path", r.URL.Path)
	return c.UniqueID, true
}

func (a *API) cdrPCAP(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	uid, ok := a.captureOf(w, r, p)
	if !ok {
		return
	}
	f, err := a.arts.OpenCapture(p.Tenant, uid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer f.Close()
	a.serveFile(w, r, f, uid+".pcap", "application/vnd.tcpdump.pcap")
}

func (a *API) cdrSIP(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	uid, ok := a.captureOf(w, r, p)
	if !ok {
		return
	}
	msgs, err := a.arts.SIPLadder(p.Tenant, uid, r.URL.Query().Get("raw") == "1" || r.URL.Query().Get("raw") == "true")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}
