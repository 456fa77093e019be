package voipmonitor

import (
	"context"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Every CDR read goes through these, scoped to the principal: its
// tenant always, and for restricted roles (user, agent: the shared
// visibility rule) the calls of its own extension only, should an
// account of such a role be given cdr.read.

func scoped(p auth.Principal, q pbx.CDRSearch) pbx.CDRSearch {
	q.Tenant = p.Tenant
	if p.Restricted() {
		own := p.Extension
		if own == "" {
			own = "\x00" // an extension-less restricted account owns no call
		}
		q.Where = append(append([]pbx.CDRCond(nil), q.Where...),
			pbx.CDRCond{{Field: pbx.FSrc, Op: pbx.OpEq, Value: own}, {Field: pbx.FDst, Op: pbx.OpEq, Value: own}})
	}
	return q
}

func (a *API) search(ctx context.Context, p auth.Principal, q pbx.CDRSearch) ([]pbx.CDR, error) {
	return a.cdrs.SearchCDRs(ctx, scoped(p, q))
}

func (a *API) count(ctx context.Context, p auth.Principal, q pbx.CDRSearch) (int64, error) {
	return a.cdrs.CountCDRs(ctx, scoped(p, q))
}

func (a *API) group(ctx context.Context, p auth.Principal, q pbx.CDRSearch, by pbx.CDRField) ([]pbx.CDRGroup, error) {
	return a.cdrs.GroupCDRs(ctx, scoped(p, q), by)
}

// getCDR reads one CDR of the principal's tenant; another extension's
// call is "not found" for a restricted role.
func (a *API) getCDR(ctx context.Context, p auth.Principal, id int64) (pbx.CDR, error) {
	c, err := a.d.CDRs.GetCDR(ctx, p.Tenant, id)
	if err != nil {
		return c, err
	}
	if p.Restricted() && (p.Extension == "" || c.Src != p.Extension && c.Dst != p.Extension) {
		return pbx.CDR{}, fmt.Errorf("cdr %d: %w", id, pbx.ErrNotFound)
	}
	return c, nil
}
