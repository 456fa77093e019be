package dialect

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/switchboard-pbx/switchboard/"

// TestDialectsStayBehindTheSeam: no dialect package (nor this one) imports
// the SIP engine, the media path, a storage backend or another dialect.
// They reach the system only through Deps.
func TestDialectsStayBehindTheSeam(t *testing.T) {
	forbidden := []string{module + "internal/sipengine", module + "internal/media", module + "internal/store/sqlite",
		module + "internal/node", module + "internal/demobot", "database/sql", "github.com/emiago/sipgo"}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		own := filepath.Dir(path) // "." is this package, "native" a dialect
		af, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s", path, p)
				}
			}
			if rest, ok := strings.CutPrefix(p, module+"internal/dialect/"); ok && strings.Split(rest, "/")[0] != own {
				t.Errorf("%s imports another dialect, %s", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
