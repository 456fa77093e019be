package viptel

import (
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// namesTTL is how long a tenant's extension names are reused before the
// directory is read again (names change rarely; events are many).
const namesTTL = time.Minute

// nameCache holds each tenant's extension names once for all its
// connections: a thousand clients of a tenant would otherwise each keep a
// copy of the directory.
type nameCache struct {
	mu      sync.Mutex
	tenants map[string]*tenantNames
}

type tenantNames struct {
	at time.Time
	m  map[string]string // never changed once built: shared read-only
}

// lookup returns the names of p's tenant, read through the service with
// p's own rights: a principal that may not read the directory gets none.
func (c *nameCache) lookup(svc *dialect.Service, p auth.Principal, now time.Time) map[string]string {
	if !p.Can(auth.ReadDirectory) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tn := c.tenants[p.Tenant]
	if tn != nil && now.Sub(tn.at) < namesTTL {
		return tn.m
	}
	exts, err := svc.Extensions(p)
	if err != nil {
		if tn != nil {
			return tn.m
		}
		return nil
	}
	m := make(map[string]string, len(exts))
	for _, x := range exts {
		if x.Name != "" {
			m[x.Number] = x.Name
		}
	}
	if c.tenants == nil {
		c.tenants = map[string]*tenantNames{}
	}
	c.tenants[p.Tenant] = &tenantNames{at: now, m: m}
	return m
}
