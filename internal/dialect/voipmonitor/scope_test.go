package voipmonitor

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

type oneCDR struct{ c pbx.CDR }

func (o oneCDR) QueryCDRs(context.Context, pbx.CDRFilter) ([]pbx.CDR, int, error) { return nil, 0, nil }
func (o oneCDR) GetCDR(_ context.Context, tenant string, id int64) (pbx.CDR, error) {
	if tenant != o.c.Tenant || id != o.c.ID {
		return pbx.CDR{}, store.ErrNotFound
	}
	return o.c, nil
}

// TestScope: every search is the principal's tenant's whatever the query
// said; a restricted role (should it hold cdr.read) sees only calls of
// its own extension, and one without an extension none.
func TestScope(t *testing.T) {
	q := pbx.CDRSearch{Tenant: "other", Where: []pbx.CDRCond{{{Field: pbx.FCodec, Op: pbx.OpEq, Value: "PCMU"}}}}
	admin := auth.Principal{Tenant: "t", Role: "admin"}
	if s := scoped(admin, q); s.Tenant != "t" || len(s.Where) != 1 {
		t.Fatalf("admin: %+v", s)
	}
	user := auth.Principal{Tenant: "t", Role: "user", Extension: "2001"}
	s := scoped(user, q)
	if len(s.Where) != 2 || len(q.Where) != 1 || s.Where[1][0].Value != "2001" || s.Where[1][1].Field != pbx.FDst {
		t.Fatalf("user: %+v (query %+v)", s, q)
	}
	if s := scoped(auth.Principal{Tenant: "t", Role: "agent"}, q); s.Where[1][0].Value == "" {
		t.Fatalf("agent without an extension matches empty numbers: %+v", s)
	}
	a := &API{d: dialect.Deps{CDRs: oneCDR{pbx.CDR{ID: 5, Tenant: "t", Src: "2002", Dst: "1001"}}}}
	ctx := context.Background()
	if _, err := a.getCDR(ctx, admin, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := a.getCDR(ctx, user, 5); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("another extension's CDR: %v", err)
	}
	if _, err := a.getCDR(ctx, auth.Principal{Tenant: "t", Role: "user", Extension: "2002"}, 5); err != nil {
		t.Fatalf("own CDR: %v", err)
	}
	if _, err := a.getCDR(ctx, auth.Principal{Tenant: "x", Role: "admin"}, 5); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another tenant's CDR: %v", err)
	}
}
