package native

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// SetAccounts enables user and key management over the API.
func (a *API) SetAccounts(acc auth.Accounts) { a.acc = acc }

func (a *API) accountsOr501(w http.ResponseWriter) bool {
	if a.acc == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "no account store")
		return false
	}
	return true
}

// roleAtMost: nobody grants more than they hold.
func roleAtMost(role, max string) bool {
	return slices.Index(auth.Roles, role) >= 0 && slices.Index(auth.Roles, role) <= slices.Index(auth.Roles, max)
}

// hashSlot holds a slot of the directory's hashing pool while a new
// password is hashed, so account changes cannot run argon2id without the
// bound logins have.
func (a *API) hashSlot(w http.ResponseWriter, r *http.Request) (func(), bool) {
	d, ok := a.gate.Auth.(interface {
		HashSlot(context.Context) (func(), error)
	})
	if !ok {
		return func() {}, true
	}
	release, err := d.HashSlot(r.Context())
	if err != nil {
		a.loginError(w, r, err, "", "")
		return nil, false
	}
	return release, true
}

// accountError maps account-store and validation errors: the caller's
// mistakes are 400/404/409, anything else (the database) a 500.
func accountError(w http.ResponseWriter, a *API, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
	case errors.Is(err, auth.ErrExists):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, auth.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	default:
		a.fail(w, r, err)
	}
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !a.accountsOr501(w) {
		return
	}
	var body struct {
		Name      string   `json:"name"`
		Role      string   `json:"role"`
		ExpiresIn int      `json:"expires_in"` // seconds; 0 = never
		AllowFrom []string `json:"allow_from"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Role == "" {
		body.Role = "readonly"
	}
	if !roleAtMost(body.Role, p.Role) {
		writeError(w, http.StatusForbidden, "forbidden", "a key may not have more rights than its creator")
		return
	}
	allow, err := auth.ParsePrefixes(body.AllowFrom)
	// Bounded before the multiplication, which would overflow into a
	// negative or tiny duration.
	if err != nil || body.ExpiresIn < 0 || int64(body.ExpiresIn) > int64(auth.MaxKeyTTL/time.Second) {
		writeError(w, http.StatusBadRequest, "invalid_argument",
			fmt.Sprintf("allow_from must be CIDRs and expires_in 0 (never) to %d seconds (10 years)", int64(auth.MaxKeyTTL/time.Second)))
		return
	}
	key, k, err := auth.CreateKey(r.Context(), a.acc, p.Tenant, body.Name, body.Role, time.Duration(body.ExpiresIn)*time.Second, allow, time.Now())
	if err != nil {
		accountError(w, a, r, err)
		return
	}
	// The key itself appears in this response only; it is stored hashed.
	writeJSON(w, http.StatusCreated, map[string]any{"key": key, "details": k})
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !a.accountsOr501(w) {
		return
	}
	ks, err := a.acc.ListKeys(r.Context(), p.Tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": ks})
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !a.accountsOr501(w) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "id must be an integer")
		return
	}
	if err := a.acc.RevokeKey(r.Context(), p.Tenant, id, time.Now()); err != nil {
		accountError(w, a, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !a.accountsOr501(w) {
		return
	}
	var body struct {
		Name      string `json:"name"`
		Password  string `json:"password"`
		Role      string `json:"role"`
		Extension string `json:"extension"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Role == "" {
		body.Role = "user"
	}
	if !roleAtMost(body.Role, p.Role) {
		writeError(w, http.StatusForbidden, "forbidden", "a user may not have more rights than its creator")
		return
	}
	release, ok := a.hashSlot(w, r)
	if !ok {
		return
	}
	defer release()
	if err := auth.CreateUser(r.Context(), a.acc, p.Tenant, body.Name, body.Password, body.Role, body.Extension, time.Now()); err != nil {
		accountError(w, a, r, err)
		return
	}
	u, _ := a.acc.GetUser(r.Context(), p.Tenant, body.Name)
	writeJSON(w, http.StatusCreated, u)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !a.accountsOr501(w) {
		return
	}
	us, err := a.acc.ListUsers(r.Context(), p.Tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

// setPassword: admins for anyone of the tenant, users for themselves
// (giving their current password).
func (a *API) setPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !a.accountsOr501(w) {
		return
	}
	name := r.PathValue("name")
	if !p.Can(auth.Admin) && (p.APIKey || p.Name != name) {
		writeError(w, http.StatusForbidden, "forbidden", "you may only change your own password")
		return
	}
	var body struct {
		Password string `json:"password"`
		// CurrentPassword is required when changing one's own password,
		// so a stolen session or an unlocked desk is not enough to take
		// the account over; admins changing someone else's need not.
		CurrentPassword string `json:"current_password"`
	}
	if !decode(w, r, &body) {
		return
	}
	if !p.APIKey && p.Name == name {
		if body.CurrentPassword == "" {
			writeError(w, http.StatusBadRequest, "invalid_argument", "current_password is required to change your own password")
			return
		}
		// Through the login path: the guess is counted and locked out
		// like any other.
		_, err := a.gate.Auth.Login(r.Context(), auth.LoginAttempt{Tenant: p.Tenant, Name: name, Password: body.CurrentPassword, IP: remoteIP(r)})
		if errors.Is(err, auth.ErrBadCredentials) {
			a.log.Info("password change refused: wrong current password", "remote", remoteIP(r).String(), "tenant", p.Tenant, "user", name)
			writeError(w, http.StatusForbidden, "forbidden", "current_password is wrong")
			return
		}
		if err != nil {
			a.loginError(w, r, err, name, "")
			return
		}
	}
	release, ok := a.hashSlot(w, r)
	if !ok {
		return
	}
	defer release()
	if err := auth.ChangePassword(r.Context(), a.acc, p.Tenant, name, body.Password, time.Now()); err != nil {
		accountError(w, a, r, err)
		return
	}
	if a.gate.Sessions != nil {
		a.gate.Sessions.RevokeUser(p.Tenant, name)
	}
	w.WriteHeader(http.StatusNoContent)
}

// setDisabled disables a database user with a reason (its sessions end at
// once), or enables it again. Admins only, never themselves.
func (a *API) setDisabled(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !a.accountsOr501(w) {
		return
	}
	var body struct {
		Disabled bool   `json:"disabled"`
		Reason   string `json:"reason"`
	}
	if !decode(w, r, &body) {
		return
	}
	name := r.PathValue("name")
	if !p.APIKey && strings.EqualFold(p.Name, name) {
		writeError(w, http.StatusBadRequest, "invalid_argument", "you may not disable your own account")
		return
	}
	reason := ""
	if body.Disabled {
		reason = strings.TrimSpace(body.Reason)
		if reason == "" {
			reason = "disabled by " + p.Name
		}
		if !pbx.ValidText(reason, 128) {
			writeError(w, http.StatusBadRequest, "invalid_argument", "reason must be at most 128 bytes of printable text")
			return
		}
	}
	if err := a.acc.SetDisabled(r.Context(), p.Tenant, name, reason); err != nil {
		accountError(w, a, r, err)
		return
	}
	if reason != "" && a.gate.Sessions != nil {
		a.gate.Sessions.RevokeUser(p.Tenant, name)
	}
	w.WriteHeader(http.StatusNoContent)
}
