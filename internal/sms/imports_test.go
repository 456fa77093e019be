package sms

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsStayNarrow: the SMS subsystem reaches the SIP engine only
// through MessageSender, and storage only through its Store interface:
// no engine, media, SIP stack, storage backend, SQL or dialect import.
func TestImportsStayNarrow(t *testing.T) {
	const module = "github.com/switchboard-pbx/switchboard/"
	forbidden := []string{module + "internal/sipengine", module + "internal/media", module + "internal/store/sqlite",
		module + "internal/dialect", module + "internal/node", "database/sql", "github.com/emiago/sipgo"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
	if _, err := os.Stat("sms.go"); err != nil {
		t.Fatal("run from the package directory")
	}
}
