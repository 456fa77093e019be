package admincli

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args[0], args[1:], strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLIRefusesBadNamesAndLifetimes: the CLI goes through the same
// validation as the API: control characters in names and key lifetimes
// that are negative or beyond ten years are refused; good ones work
// (issue 9, items 6 and 9).
func TestCLIRefusesBadNamesAndLifetimes(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--data", dir, "--tenant", "t"}
	args := func(what, verb string, rest ...string) []string {
		return append(append([]string{what, verb}, base...), rest...)
	}
	if code, _, errs := run(t, "long-enough-1\n", args("user", "add", "bad\x1bname")...); code != 1 || !strings.Contains(errs, "user name") {
		t.Fatalf("control character in a user name: %d %s", code, errs)
	}
	if code, _, errs := run(t, "long-enough-1\n", args("user", "add", "eve@t")...); code != 1 {
		t.Fatalf("'@' in a user name: %d %s", code, errs)
	}
	if code, _, errs := run(t, "long-enough-1\n", args("user", "add", "eve")...); code != 0 {
		t.Fatalf("good user: %d %s", code, errs)
	}
	for _, exp := range []string{"-1h", "87601h"} {
		if code, _, errs := run(t, "", args("key", "create", "--expires", exp, "crm")...); code != 1 || !strings.Contains(errs, "lifetime") {
			t.Fatalf("--expires %s: %d %s", exp, code, errs)
		}
	}
	if code, _, errs := run(t, "", args("key", "create", "crm\x00")...); code != 1 {
		t.Fatalf("NUL in a key name: %d %s", code, errs)
	}
	code, out, errs := run(t, "", args("key", "create", "--expires", "720h", "crm")...)
	if code != 0 || !strings.HasPrefix(out, "sbk_") {
		t.Fatalf("good key: %d %q %s", code, out, errs)
	}
}
