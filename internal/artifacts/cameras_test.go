package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestCameraFiles: camera files get names we make, list newest first per
// camera, open by that name only, and a tenant sees only its own.
func TestCameraFiles(t *testing.T) {
	root := t.TempDir()
	s := New(root, "")
	t0 := time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)
	var names []string
	for i, c := range []struct {
		cam  int
		kind string
	}{{44, CameraPicture}, {44, CameraRecording}, {7, CameraPicture}} {
		name, w, err := s.NewCameraFile("acme", c.cam, c.kind, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte{0xff, 0xd8, byte(i)}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if _, err := ParseCameraName(name); err != nil {
			t.Fatalf("our own name %q does not parse: %v", name, err)
		}
		names = append(names, name)
	}
	if filepath.Ext(names[0]) != ".jpg" || filepath.Ext(names[1]) != ".mjpeg" {
		t.Fatalf("extensions: %v", names)
	}
	if _, err := os.Stat(filepath.Join(root, "acme", "cameras", names[0])); err != nil {
		t.Fatalf("not where retention sweeps: %v", err)
	}
	all, err := s.CameraFiles("acme", 0)
	if err != nil || len(all) != 3 || all[0].Name != names[2] || all[2].Name != names[0] {
		t.Fatalf("all, newest first: %+v %v", all, err)
	}
	cam44, _ := s.CameraFiles("acme", 44)
	if len(cam44) != 2 || cam44[0].Kind != CameraRecording || cam44[0].Camera != 44 || cam44[0].Size != 3 || !cam44[0].Created.Equal(t0.Add(time.Second)) {
		t.Fatalf("camera 44: %+v", cam44)
	}
	if other, err := s.CameraFiles("other", 0); err != nil || len(other) != 0 {
		t.Fatalf("another tenant: %+v %v", other, err)
	}
	f, cf, err := s.OpenCameraFile("acme", names[1])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if len(b) != 3 || b[2] != 1 || cf.Kind != CameraRecording {
		t.Fatalf("read %v %+v", b, cf)
	}
	if _, _, err := s.OpenCameraFile("other", names[1]); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("another tenant's file: %v", err)
	}
	for _, bad := range []string{"../acme/cameras/" + names[0], "cam44-x.jpg", "cam0-20261202T110000.000Z-0123abcd.jpg",
		"cam44-20261202T110000.000Z-0123abcd.wav", "cam44-20261202T110000.000Z-0123ABCD.jpg", names[0] + "/", "", "cam44-20261302T110000.000Z-0123abcd.jpg"} {
		if _, _, err := s.OpenCameraFile("acme", bad); !errors.Is(err, pbx.ErrInvalidArgument) {
			t.Errorf("OpenCameraFile(%q): %v", bad, err)
		}
	}
	if _, _, err := s.NewCameraFile("acme", 44, "movie", t0); !errors.Is(err, pbx.ErrInvalidArgument) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, _, err := s.NewCameraFile("../x", 44, CameraPicture, t0); !errors.Is(err, pbx.ErrInvalidArgument) {
		t.Fatalf("bad tenant: %v", err)
	}
	if _, err := New("", "").CameraFiles("acme", 0); !errors.Is(err, pbx.ErrNotSupported) {
		t.Fatalf("no recording dir: %v", err)
	}
}

// TestRetentionSweepsCameraFiles: the recordings' policy deletes old
// camera recordings and pictures too.
func TestRetentionSweepsCameraFiles(t *testing.T) {
	s := New(t.TempDir(), "")
	name, w, err := s.NewCameraFile("acme", 44, CameraPicture, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	dir, _ := s.cameraDir("acme")
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var deleted []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunRetention(ctx, time.Hour, Policy{MaxAge: time.Hour}, Policy{}, func(p string) { deleted = append(deleted, p); cancel() })
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cancel()
		<-done
	}
	if len(deleted) != 1 || filepath.Base(deleted[0]) != name {
		t.Fatalf("deleted %v", deleted)
	}
}

// FuzzParseCameraName: a name from a client is either refused or one that
// stays a single safe file name of ours, whose parts read back the same.
func FuzzParseCameraName(f *testing.F) {
	for _, s := range []string{"cam44-20261202T110000.000Z-0123abcd.jpg", "cam1-20261202T110000.000Z-0123abcd.mjpeg",
		"../cam44-20261202T110000.000Z-0123abcd.jpg", "cam44-20261202T110000.000Z-0123abcd.jpg/..", "cam0-x.jpg", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		cf, err := ParseCameraName(name)
		if err != nil {
			return
		}
		if !plainName(name) || filepath.Base(name) != name || cf.Camera <= 0 || (cf.Kind != CameraRecording && cf.Kind != CameraPicture) {
			t.Fatalf("accepted %q as %+v", name, cf)
		}
		again := fmt.Sprintf("cam%d-%s-%s", cf.Camera, cf.Created.UTC().Format(cameraTimeLayout), name[len(name)-len("0123abcd.jpg"):])
		if cf.Kind == CameraRecording {
			again = fmt.Sprintf("cam%d-%s-%s", cf.Camera, cf.Created.UTC().Format(cameraTimeLayout), name[len(name)-len("0123abcd.mjpeg"):])
		}
		if again != name {
			t.Fatalf("%q reads back as %q", name, again)
		}
	})
}
