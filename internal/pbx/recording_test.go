package pbx

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidRecordingName(t *testing.T) {
	ok := map[string]string{"a": "a.wav", "x.WAV": "x.WAV", "ticket-42_b.1": "ticket-42_b.1.wav"}
	for in, want := range ok {
		if got, err := ValidRecordingName(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/../b", "/abs", `C:\x`, "a\\b", "x\x00", ".hidden", "a..b", "sp ace",
		"ü", strings.Repeat("a", 129), "a\nb"} {
		if _, err := ValidRecordingName(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}

// FuzzValidRecordingName: whatever is accepted stays a single path
// element inside the directory.
func FuzzValidRecordingName(f *testing.F) {
	for _, s := range []string{"a", "../x", "x.wav", "..", "a/b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := ValidRecordingName(s)
		if err != nil {
			return
		}
		p := filepath.Join("/rec", name)
		if filepath.Dir(p) != "/rec" || filepath.Base(p) != name || strings.HasPrefix(name, ".") {
			t.Fatalf("%q -> %q escapes", s, name)
		}
	})
}
