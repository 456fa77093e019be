package native

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// TestOwnPasswordChangeNeedsCurrentPassword: a user changing its own
// password must give the current one (issue 9, item 7); a wrong one is
// refused and counted like a failed login; an admin changing someone
// else's password does not need it.
func TestOwnPasswordChangeNeedsCurrentPassword(t *testing.T) {
	f := newFixture(t)
	acc := &memAccounts{users: map[string]auth.StoredUser{}}
	f.dir.SetAccounts(acc)
	f.api.SetAccounts(acc)
	f.api.SetLimiter(auth.NewLimiter(5, 15*time.Minute, f.clk.now))
	if c, b := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"eve","password":"long-enough-1"}`); c != 201 {
		t.Fatalf("create: %d %s", c, b)
	}
	cases := []struct {
		name, cred, body string
		status           int
		code             string
	}{
		{"without current password", "eve:long-enough-1", `{"password":"taken-over-1"}`, 400, "invalid_argument"},
		{"wrong current password", "eve:long-enough-1", `{"password":"taken-over-1","current_password":"guess-guess"}`, 403, "forbidden"},
		{"with current password", "eve:long-enough-1", `{"password":"changed-by-eve","current_password":"long-enough-1"}`, 204, ""},
		{"admin for someone else", "admin:admin-pass", `{"password":"reset-by-admin"}`, 204, ""},
	}
	for _, tc := range cases {
		code, body := f.do(t, "PUT", "/api/v1/users/eve/password", tc.cred, tc.body)
		if code != tc.status || !strings.Contains(body, tc.code) {
			t.Fatalf("%s: %d %s", tc.name, code, body)
		}
		if tc.name == "with current password" {
			if c, _ := f.do(t, "GET", "/api/v1/calls", "eve:long-enough-1", ""); c != http.StatusUnauthorized {
				t.Fatalf("old password still works: %d", c)
			}
			if c, _ := f.do(t, "GET", "/api/v1/calls", "eve:changed-by-eve", ""); c != 200 {
				t.Fatalf("new password: %d", c)
			}
		}
	}
	if c, _ := f.do(t, "GET", "/api/v1/calls", "eve:reset-by-admin", ""); c != 200 {
		t.Fatalf("admin's reset: %d", c)
	}
	// Wrong current passwords are guesses: they lock out like logins.
	for range 4 {
		f.do(t, "PUT", "/api/v1/users/eve/password", "eve:reset-by-admin", `{"password":"taken-over-1","current_password":"guess-guess"}`)
	}
	code, body := f.do(t, "PUT", "/api/v1/users/eve/password", "eve:reset-by-admin", `{"password":"taken-over-1","current_password":"reset-by-admin"}`)
	if code != http.StatusTooManyRequests {
		t.Fatalf("after five wrong current passwords: %d %s", code, body)
	}
}

// TestNewPasswordsAreHashedInThePool: creating a user or changing a
// password hashes inside the directory's bounded pool too; with the pool
// full they answer 503 instead of adding another 19 MiB argon2id run.
func TestNewPasswordsAreHashedInThePool(t *testing.T) {
	f := newFixture(t)
	acc := &memAccounts{users: map[string]auth.StoredUser{}}
	f.dir.SetAccounts(acc)
	f.api.SetAccounts(acc)
	if c, b := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"eve","password":"long-enough-1"}`); c != 201 {
		t.Fatalf("create: %d %s", c, b)
	}
	f.dir.SetHashLimits(1, 20*time.Millisecond)
	release, err := f.dir.HashSlot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// admin:admin-pass is cached from the first request: no slot needed.
	if c, b := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"joe","password":"long-enough-1"}`); c != 503 || !strings.Contains(b, "unavailable") {
		t.Fatalf("create with the pool full: %d %s", c, b)
	}
	if c, b := f.do(t, "PUT", "/api/v1/users/eve/password", "admin:admin-pass", `{"password":"reset-by-admin"}`); c != 503 {
		t.Fatalf("password change with the pool full: %d %s", c, b)
	}
	release()
	if c, b := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":"joe","password":"long-enough-1"}`); c != 201 {
		t.Fatalf("create after: %d %s", c, b)
	}
}
