package voipmonitor

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

type nopWriter struct{}

func (nopWriter) InsertCDR(context.Context, *pbx.CDR) error { return nil }

// TestOpenAPIOptions: off by default; a role needs a tenant, the role must
// exist and so must the tenant.
func TestOpenAPIOptions(t *testing.T) {
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "t", Domain: "t.local"}}}, nopWriter{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	d := dialect.Deps{Service: dialect.NewService(core)}
	if p, err := openAPI(d); p != nil || err != nil {
		t.Fatalf("default: %v %v", p, err)
	}
	d.Options = dialect.Options{"open_api_tenant": "t"}
	if p, err := openAPI(d); err != nil || p.Tenant != "t" || p.Role != "readonly" || p.Name != openPrincipalName {
		t.Fatalf("tenant t: %+v %v", p, err)
	}
	for opts, want := range map[string]dialect.Options{
		"needs open_api_tenant": {"open_api_role": "admin"},
		"is not a role":         {"open_api_tenant": "t", "open_api_role": "root"},
		"no tenant":             {"open_api_tenant": "nope"},
	} {
		d.Options = want
		if _, err := openAPI(d); err == nil || !strings.Contains(err.Error(), opts) {
			t.Errorf("%v: %v", want, err)
		}
	}
}
