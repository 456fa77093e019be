package native

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// TestDisabledAccounts: an admin disables a stored user with a reason; its
// session ends at once and its right password is refused with 403
// account_disabled (a wrong one still gets 401, so the state does not leak
// to guessers); enabled again, it logs in. Admins cannot disable
// themselves; others cannot disable anyone.
func TestDisabledAccounts(t *testing.T) {
	f := newFixture(t)
	acc := &memAccounts{users: map[string]auth.StoredUser{}}
	f.dir.SetAccounts(acc)
	f.api.SetAccounts(acc)
	if code, body := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"eve","password":"long-enough-1","role":"readonly"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	code, body := f.do(t, "POST", "/api/v1/sessions", "", `{"user":"eve","password":"long-enough-1","tenant":"a"}`)
	if code != 201 {
		t.Fatalf("login: %d %s", code, body)
	}
	sid := body[strings.Index(body, `"sid":"`)+7:]
	sid = sid[:strings.Index(sid, `"`)]
	withSession := func() int {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/extensions", nil)
		req.Header.Set("Authorization", "Session "+sid)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if withSession() != 200 {
		t.Fatal("session does not work")
	}
	if code, _ := f.do(t, "PUT", "/api/v1/users/eve/disabled", "ro:ro-pass", `{"disabled":true}`); code != 403 {
		t.Fatalf("readonly disabling: %d", code)
	}
	if code, body := f.do(t, "PUT", "/api/v1/users/admin/disabled", "admin:admin-pass", `{"disabled":true}`); code != 400 {
		t.Fatalf("self-disable: %d %s", code, body)
	}
	if code, body := f.do(t, "PUT", "/api/v1/users/eve/disabled", "admin:admin-pass", `{"disabled":true,"reason":"left\ncompany"}`); code != 400 {
		t.Fatalf("control characters in the reason: %d %s", code, body)
	}
	if code, body := f.do(t, "PUT", "/api/v1/users/eve/disabled", "admin:admin-pass", `{"disabled":true,"reason":"left the company"}`); code != 204 {
		t.Fatalf("disable: %d %s", code, body)
	}
	if withSession() != 401 {
		t.Fatal("the disabled user's session still works")
	}
	if code, body := f.do(t, "GET", "/api/v1/extensions", "eve:long-enough-1", ""); code != 403 || !strings.Contains(body, "account_disabled") {
		t.Fatalf("disabled login: %d %s", code, body)
	}
	if code, _ := f.do(t, "GET", "/api/v1/extensions", "eve:wrong-password", ""); code != 401 {
		t.Fatalf("wrong password for a disabled user: %d", code)
	}
	if code, _ := f.do(t, "PUT", "/api/v1/users/eve/disabled", "admin:admin-pass", `{"disabled":false}`); code != 204 {
		t.Fatal("enable")
	}
	if code, body := f.do(t, "GET", "/api/v1/extensions", "eve:long-enough-1", ""); code != 200 {
		t.Fatalf("enabled again: %d %s", code, body)
	}
	if code, _ := f.do(t, "PUT", "/api/v1/users/nobody/disabled", "admin:admin-pass", `{"disabled":true}`); code != 404 {
		t.Fatalf("unknown user: %d", code)
	}
}
