package auth

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig lets a tenant's users log in with their directory password:
// switchboard binds as the user (no service account needed) and maps
// group membership to a role.
type LDAPConfig struct {
	URL string // ldap://host:389 or ldaps://host:636
	// UserDN is the user's DN with {user} where the (DN-escaped) login
	// name goes, e.g. "uid={user},ou=people,dc=example,dc=org".
	UserDN string
	// GroupBase is searched for groupOfNames/groupOfUniqueNames entries
	// listing the user; RoleGroups maps a group's cn to a role (the most
	// powerful match wins). Users in no mapped group get DefaultRole, or
	// are refused when it is empty.
	GroupBase   string
	RoleGroups  map[string]string
	DefaultRole string
	StartTLS    bool
	// InsecureSkipVerify is for test directories with self-signed
	// certificates only.
	InsecureSkipVerify bool
	Timeout            time.Duration // default 5 s
}

// errLDAPDown separates "directory unreachable" from "wrong password" in
// logs; callers still answer ErrBadCredentials.
var errLDAPDown = errors.New("auth: directory unreachable")

// ldapLogin binds as user and returns its role.
func ldapLogin(cfg LDAPConfig, user, password string) (string, error) {
	if password == "" || user == "" {
		// An empty password is an anonymous ("unauthenticated") bind that
		// many servers accept: never treat it as a login.
		return "", ErrBadCredentials
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	conn, err := ldap.DialURL(cfg.URL, ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}))
	if err != nil {
		return "", fmt.Errorf("%w: %v", errLDAPDown, err)
	}
	defer conn.Close()
	conn.SetTimeout(timeout)
	if cfg.StartTLS {
		if err := conn.StartTLS(&tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}); err != nil {
			return "", fmt.Errorf("%w: starttls: %v", errLDAPDown, err)
		}
	}
	dn := strings.ReplaceAll(cfg.UserDN, "{user}", ldap.EscapeDN(user))
	if err := conn.Bind(dn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return "", ErrBadCredentials
		}
		return "", fmt.Errorf("%w: bind: %v", errLDAPDown, err)
	}
	role := cfg.DefaultRole
	if cfg.GroupBase != "" && len(cfg.RoleGroups) > 0 {
		f := fmt.Sprintf("(|(&(objectClass=groupOfNames)(member=%s))(&(objectClass=groupOfUniqueNames)(uniqueMember=%s)))",
			ldap.EscapeFilter(dn), ldap.EscapeFilter(dn))
		res, err := conn.Search(ldap.NewSearchRequest(cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 100,
			int(timeout/time.Second), false, f, []string{"cn"}, nil))
		if err != nil {
			return "", fmt.Errorf("%w: group search: %v", errLDAPDown, err)
		}
		best := -1
		for _, e := range res.Entries {
			if r, ok := cfg.RoleGroups[e.GetAttributeValue("cn")]; ok {
				for i, x := range Roles {
					if x == r && i > best {
						best, role = i, r
					}
				}
			}
		}
	}
	if role == "" {
		return "", ErrBadCredentials // authenticated, but not allowed in
	}
	return role, nil
}
