package native

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// whoami answers who a session (or key) is and what it may do: a browser
// client (the web panel) hides what the role cannot do, while the API's
// own checks stay what enforces the rights.
func (a *API) whoami(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rights := []string{}
	for _, right := range auth.AllRights {
		if p.Can(right) {
			rights = append(rights, right)
		}
	}
	slices.Sort(rights)
	writeJSON(w, http.StatusOK, map[string]any{"user": p.Name, "tenant": p.Tenant, "role": p.Role,
		"extension": p.Extension, "api_key": p.APIKey, "rights": rights})
}

// crossSiteCookie reports a state-changing request that authenticates
// only by the session cookie and comes from a page of another origin. The
// cookie is SameSite=Strict, but "site" ignores the port: a page served by
// another program on the same host is same-site and its form or fetch
// would carry the cookie. Browsers send Origin on every such request, so
// one that names another host:port is refused; clients that send no
// Origin (curl with a cookie jar) are not browsers and are let through.
// The web panel never relies on the cookie for REST calls: it sends the
// session id in the Authorization header, which no other page can set.
func crossSiteCookie(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	if r.Header.Get("Authorization") != "" || sessionCookieValue(r) == "" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}
