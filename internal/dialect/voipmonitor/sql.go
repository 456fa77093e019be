package voipmonitor

import (
	"fmt"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// loginReply is bypass_login's answer, field for field as the spec prints
// it.
type loginReply struct {
	SID        string `json:"SID"`
	CookieName string `json:"cookie_name"`
	Success    bool   `json:"success"`
	VMVersion  int    `json:"_vm_version"`
	Debug      bool   `json:"_debug"`
}

// sql serves php/model/sql.php: bypass_login, then with the session
// cookie the CDR listing and its grouped summary.
func (a *API) sql(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	var p auth.Principal
	action := "sql"
	defer func() { a.d.AuditRequest(r, p, Name, action, r.URL.Path, sw.status, "") }()
	if err := form(sw, r); err != nil {
		a.fail(sw, r, err)
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	if r.Form.Get("module") == "bypass_login" {
		action = "bypass_login"
		var err error
		p, err = a.login(sw, r)
		if err != nil {
			a.fail(sw, r, err)
		}
		return
	}
	var err error
	if p, err = a.session(r); err != nil {
		a.fail(sw, r, err)
		return
	}
	task, module := r.Form.Get("task"), r.Form.Get("module")
	action = task + " " + module
	switch {
	case module == "CDR" && (task == "LISTING" || task == ""):
		err = a.listing(sw, r, p)
	case module == "CDR_stats":
		err = a.cdrStats(sw, r, p)
	default:
		err = fmt.Errorf("task %q module %q: %w", task, module, errUnknownTask)
	}
	if err != nil {
		a.fail(sw, r, err)
	}
}

// login checks user and pass and opens a GUI session.
func (a *API) login(w http.ResponseWriter, r *http.Request) (auth.Principal, error) {
	user, pass := r.Form.Get("user"), r.Form.Get("pass")
	if user == "" || pass == "" {
		return auth.Principal{}, paramErr("user and pass are required")
	}
	p, err := a.d.Gate.Login(r.Context(), "", user, pass, dialect.RemoteIP(r))
	if err != nil {
		a.log.Info("login refused", "account", dialect.LogName(user), "remote", r.RemoteAddr, "err", err)
		return p, err
	}
	sid, expires, ok := a.d.Gate.StartSession(r.Context(), p)
	if !ok {
		return p, fmt.Errorf("sessions are off: %w", pbx.ErrNotSupported)
	}
	name := cookieName(r)
	http.SetCookie(w, &http.Cookie{Name: name, Value: sid, Path: cookiePath(r), Expires: expires, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusOK, loginReply{SID: sid, CookieName: name, Success: true, VMVersion: vmVersion})
	return p, nil
}
