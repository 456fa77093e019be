package artifacts

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestNamesNeverEscape: tenant names, recording file names and unique ids
// that could leave the directory are refused before any file operation.
func TestNamesNeverEscape(t *testing.T) {
	s := New(t.TempDir(), t.TempDir())
	for _, tc := range []struct{ tenant, file string }{
		{"../x", "a.wav"}, {"a/b", "a.wav"}, {".hidden", "a.wav"}, {"", "a.wav"},
		{"t", "../../etc/passwd"}, {"t", "a/b.wav"}, {"t", ".wav"}, {"t", "a\x00.wav"}, {"t", `a\b.wav`},
	} {
		if _, err := s.NewRecording(tc.tenant, tc.file); !errors.Is(err, pbx.ErrInvalidArgument) {
			t.Errorf("NewRecording(%q, %q): %v", tc.tenant, tc.file, err)
		}
		if _, err := s.OpenRecording(tc.tenant, tc.file); !errors.Is(err, pbx.ErrInvalidArgument) {
			t.Errorf("OpenRecording(%q, %q): %v", tc.tenant, tc.file, err)
		}
	}
	for _, uid := range []string{"../1", "1/2", "..", ".1", "1.2.pcap", ""} {
		if _, err := s.OpenCapture("t", uid); !errors.Is(err, pbx.ErrInvalidArgument) {
			t.Errorf("OpenCapture(%q): %v", uid, err)
		}
	}
}

// TestRecordingLifecycle: a new recording's directory is made, its name
// is never reused, and the file reads back; a missing one is ErrNotFound.
func TestRecordingLifecycle(t *testing.T) {
	root := t.TempDir()
	s := New(root, "")
	path, err := s.NewRecording("acme", "ticket-1.wav")
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(root, "acme", "ticket-1.wav") {
		t.Fatalf("path %s", path)
	}
	if err := os.WriteFile(path, []byte("RIFFdata"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewRecording("acme", "ticket-1.wav"); !errors.Is(err, pbx.ErrBusy) {
		t.Fatalf("reused name: %v", err)
	}
	f, err := s.OpenRecording("acme", "ticket-1.wav")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "RIFFdata" {
		t.Fatalf("read %q", b)
	}
	if size, _, err := s.RecordingStat("acme", "ticket-1.wav"); err != nil || size != 8 {
		t.Fatalf("stat %d %v", size, err)
	}
	if _, err := s.OpenRecording("acme", "gone.wav"); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := s.OpenCapture("acme", "1.2"); !errors.Is(err, pbx.ErrNotSupported) {
		t.Fatalf("captures not kept: %v", err)
	}
}
