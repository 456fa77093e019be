package pbx

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCoreImportsNoWireOrStorage keeps the domain core free of protocol and
// storage packages, so every engine and dialect can depend on it.
func TestCoreImportsNoWireOrStorage(t *testing.T) {
	allowedProject := map[string]bool{"github.com/switchboard-pbx/switchboard/internal/eventbus": true,
		"github.com/switchboard-pbx/switchboard/internal/batch": true}
	// Pure algorithms with no I/O may come from outside.
	allowedThirdParty := map[string]bool{"golang.org/x/time/rate": true}
	// No wire, storage or file I/O: files belong to internal/artifacts.
	forbidden := []string{"net/http", "database/sql", "net", "github.com/emiago/sipgo", "encoding/xml", "encoding/json",
		"os", "io/fs", "path/filepath", "io/ioutil"}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad+"/") && bad != "net" && bad != "os" {
					t.Errorf("%s imports %s", f, p)
				}
			}
			if strings.HasPrefix(p, "github.com/switchboard-pbx/") && !allowedProject[p] {
				t.Errorf("%s imports project package %s", f, p)
			}
			if strings.Contains(p, ".") && !strings.HasPrefix(p, "github.com/switchboard-pbx/") && !allowedThirdParty[p] {
				t.Errorf("%s imports third-party %s", f, p)
			}
		}
	}
}

// TestCoreTypesCarryNoWireTags: the domain types are not a wire format.
// Each dialect, the event log and webhooks own their encodings, so a change
// here cannot silently change what clients or the disk see.
func TestCoreTypesCarryNoWireTags(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			if fld, ok := n.(*ast.Field); ok && fld.Tag != nil && strings.Contains(fld.Tag.Value, "json:") {
				t.Errorf("%s: field %v carries a wire tag %s", fset.Position(fld.Pos()), fld.Names, fld.Tag.Value)
			}
			return true
		})
	}
}
