package native

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// TestAccountNamesAndKeyLifetimeAreValidated: user and key names with NUL,
// control characters or CR/LF, overlong names and key lifetimes that are
// negative, beyond ten years or overflowing are 400 (issue 9, items 6
// and 9).
func TestAccountNamesAndKeyLifetimeAreValidated(t *testing.T) {
	f := newFixture(t)
	acc := &memAccounts{users: map[string]auth.StoredUser{}}
	f.dir.SetAccounts(acc)
	f.api.SetAccounts(acc)
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, name := range []string{"a\x00b", "eve\r\nX-Evil: 1", "bell\x07", "a@b", strings.Repeat("x", 65), ""} {
		if code, body := f.do(t, "POST", "/api/v1/users", "admin:admin-pass", `{"name":`+q(name)+`,"password":"long-enough-1"}`); code != 400 || !strings.Contains(body, "invalid_argument") {
			t.Errorf("user %q: %d %s", name, code, body)
		}
		if code, body := f.do(t, "POST", "/api/v1/keys", "admin:admin-pass", `{"name":`+q(name+"\n")+`}`); code != 400 {
			t.Errorf("key %q: %d %s", name, code, body)
		}
	}
	tenYears := int64(auth.MaxKeyTTL.Seconds())
	for _, exp := range []string{"-1", fmt.Sprint(tenYears + 1), "9223372036854775807", "1e30"} {
		if code, body := f.do(t, "POST", "/api/v1/keys", "admin:admin-pass", `{"name":"crm","expires_in":`+exp+`}`); code != 400 {
			t.Errorf("expires_in %s: %d %s", exp, code, body)
		}
	}
	if code, body := f.do(t, "POST", "/api/v1/keys", "admin:admin-pass", fmt.Sprintf(`{"name":"crm","expires_in":%d}`, tenYears)); code != 201 {
		t.Fatalf("ten years: %d %s", code, body)
	}
	if len(acc.keys) != 1 || len(acc.users) != 0 {
		t.Fatalf("stored %d keys, %d users", len(acc.keys), len(acc.users))
	}
}
