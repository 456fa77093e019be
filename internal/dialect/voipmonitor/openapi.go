package voipmonitor

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// VoIPmonitor's "Disable authorization for API usage" (GUI → Settings →
// System Configuration), for safe environments: requests that present no
// credential act as one principal. Off unless the options name the
// tenant (open_api_tenant) it opens; the role (open_api_role, default
// readonly) bounds what such requests may do. A request that does present
// credentials is checked as always: a wrong password is still refused.
// An address no tenant's allowlist admits is refused (Gate.MayConnect).

// openPrincipalName names requests without credentials in the audit log.
const openPrincipalName = "api-without-authorization"

// openAPI reads the options; the tenant must exist and the role be a
// built-in one.
func openAPI(d dialect.Deps) (*auth.Principal, error) {
	tenant, ok := d.Options["open_api_tenant"]
	if !ok {
		if _, ok := d.Options["open_api_role"]; ok {
			return nil, errors.New("option open_api_role: needs open_api_tenant")
		}
		return nil, nil
	}
	role := d.Options["open_api_role"]
	if role == "" {
		role = "readonly"
	}
	if len(auth.RoleRights(role)) == 0 {
		return nil, fmt.Errorf("option open_api_role: %q is not a role (admin, supervisor, agent, user, readonly)", role)
	}
	p := &auth.Principal{Tenant: tenant, Name: openPrincipalName, Role: role}
	if _, err := d.Service.Extensions(auth.Principal{Tenant: tenant, Role: "admin"}); errors.Is(err, pbx.ErrUnknownTenant) {
		return nil, fmt.Errorf("option open_api_tenant: no tenant %q", tenant)
	}
	return p, nil
}

// anonymous is the open principal for a request without credentials, or
// the error a request without credentials gets.
func (a *API) anonymous(r *http.Request, missing error) (auth.Principal, error) {
	if a.open == nil {
		return auth.Principal{}, missing
	}
	p := *a.open
	if !a.d.Gate.MayConnect(dialect.RemoteIP(r)) {
		return auth.Principal{}, fmt.Errorf("open api from %s: %w", dialect.RemoteIP(r), auth.ErrAddressNotAllowed)
	}
	return p, nil
}
