package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	weak := filepath.Join(dir, "weak.yaml")
	os.WriteFile(weak, []byte("tenants:\n  - name: T\n    extensions:\n      - {number: \"100\", password: admin}\n"), 0o644)
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("tenants:\n  - name: T\n    extensions:\n      - {number: \"1x\", password: long-enough-pw}\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no args", nil, 2, "usage"},
		{"unknown", []string{"frobnicate"}, 2, "unknown command"},
		{"version", []string{"version"}, 0, "switchboard dev"},
		{"config check ok", []string{"config", "check", "../../internal/config/testdata/example.yaml"}, 0, "ok (1 tenants)"},
		{"config check names line and field", []string{"config", "check", broken}, 1, "broken.yaml:4:18: tenants[0].extensions[0].number"},
		{"config check refuses weak passwords", []string{"config", "check", weak}, 1, "extension 100: default or weak password"},
		{"serve refuses weak passwords", []string{"serve", "--config", weak, "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"}, 1, "refusing to start outside demo mode"},
		{"serve needs a config", []string{"serve"}, 2, "--config FILE or --demo"},
		{"traffic needs demo", []string{"serve", "--config", "../../internal/config/testdata/example.yaml", "--demo-traffic", "5"}, 2, "needs --demo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			all := out.String() + errb.String()
			if code != tc.code || !strings.Contains(all, tc.out) {
				t.Fatalf("exit %d, output:\n%s", code, all)
			}
			if strings.Contains(all, "password: admin") {
				t.Fatal("a password was printed")
			}
		})
	}
}
