package devices

import (
	"context"
	"errors"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// readRecording parses a recorded .mjpeg file as the multipart stream it
// is and decodes every frame, returning how many there were.
func readRecording(t *testing.T, store *artifacts.Store, tenant, name string) int {
	t.Helper()
	f, cf, err := store.OpenCameraFile(tenant, name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cf.Kind != artifacts.CameraRecording {
		t.Fatalf("kind %q", cf.Kind)
	}
	mr := multipart.NewReader(f, RecordingBoundary)
	n := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if p.Header.Get("Content-Type") != "image/jpeg" || p.Header.Get("X-Timestamp") == "" {
			t.Fatalf("frame %d headers %v", n, p.Header)
		}
		if _, err := jpeg.Decode(p); err != nil {
			t.Fatalf("frame %d is not a complete JPEG: %v", n, err)
		}
		n++
	}
}

func newTestRecorder(t *testing.T, specs ...CameraSpec) (*Recorder, *artifacts.Store, *events) {
	t.Helper()
	cams, err := NewCameras(specs)
	if err != nil {
		t.Fatal(err)
	}
	store := artifacts.New(t.TempDir(), "")
	evs := &events{}
	r := NewRecorder(cams, store, evs, nil)
	t.Cleanup(func() { r.Close() })
	return r, store, evs
}

// TestRecordAndStop: a recording runs until stopped, its file holds
// complete JPEG frames, and a camera records once at a time; a picture
// is one JPEG.
func TestRecordAndStop(t *testing.T) {
	r, store, evs := newTestRecorder(t, CameraSpec{Tenant: "acme", ID: 44, Name: "door", Driver: Synthetic{Width: 64, Height: 48, FPS: 25}})
	ctx := context.Background()
	name, err := r.Start(ctx, "acme", 44, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, "acme", 44, 0); !errors.Is(err, pbx.ErrBusy) {
		t.Fatalf("second recording: %v", err)
	}
	if got := r.Recording("acme"); len(got) != 1 || got[0] != name {
		t.Fatalf("running: %v", got)
	}
	time.Sleep(300 * time.Millisecond)
	stopped, err := r.Stop(ctx, "acme", 44)
	if err != nil || stopped != name {
		t.Fatalf("stop: %q %v", stopped, err)
	}
	if n := readRecording(t, store, "acme", name); n < 3 {
		t.Fatalf("%d frames in 300 ms at 25 fps", n)
	}
	if _, err := r.Stop(ctx, "acme", 44); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("stop again: %v", err)
	}
	if got := evs.camera(); len(got) != 2 || got[0] != "camera.recording 44 "+name+" started" || got[1] != "camera.recording 44 "+name+" stopped stop" {
		t.Fatalf("events: %v", got)
	}
	pic, err := r.Picture(ctx, "acme", 44)
	if err != nil {
		t.Fatal(err)
	}
	f, cf, err := store.OpenCameraFile("acme", pic)
	if err != nil || cf.Kind != artifacts.CameraPicture {
		t.Fatalf("picture %q: %+v %v", pic, cf, err)
	}
	if _, err := jpeg.Decode(f); err != nil {
		t.Fatalf("picture is not a JPEG: %v", err)
	}
	f.Close()
	if got := evs.camera(); len(got) != 3 || got[2] != "camera.picture 44 "+pic {
		t.Fatalf("events: %v", got)
	}
	for _, tc := range []struct {
		tenant string
		id     int
		max    time.Duration
		want   error
	}{
		{"acme", 45, 0, pbx.ErrNotFound},
		{"other", 44, 0, pbx.ErrNotFound},
		{"acme", 44, -time.Second, pbx.ErrInvalidArgument},
		{"acme", 44, 2 * MaxRecording, pbx.ErrInvalidArgument},
	} {
		if _, err := r.Start(ctx, tc.tenant, tc.id, tc.max); !errors.Is(err, tc.want) {
			t.Errorf("Start(%s, %d, %s): %v, want %v", tc.tenant, tc.id, tc.max, err, tc.want)
		}
	}
	if _, err := r.Picture(ctx, "other", 44); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("another tenant's picture: %v", err)
	}
}

// TestRecordingEndsAtMax: a recording for a set length ends by itself
// with a complete file; Close ends running ones the same way.
func TestRecordingEndsAtMax(t *testing.T) {
	r, store, evs := newTestRecorder(t,
		CameraSpec{Tenant: "acme", ID: 1, Driver: Synthetic{Width: 32, Height: 24, FPS: 25}},
		CameraSpec{Tenant: "acme", ID: 2, Driver: Synthetic{Width: 32, Height: 24, FPS: 25}})
	ctx := context.Background()
	short, err := r.Start(ctx, "acme", 1, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	long, err := r.Start(ctx, "acme", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.Recording("acme")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("still recording: %v", r.Recording("acme"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := readRecording(t, store, "acme", short); n < 2 {
		t.Fatalf("short recording: %d frames", n)
	}
	r.Close()
	if got := r.Recording("acme"); len(got) != 0 {
		t.Fatalf("recording after close: %v", got)
	}
	if n := readRecording(t, store, "acme", long); n < 2 {
		t.Fatalf("recording ended by close: %d frames", n)
	}
	got := strings.Join(evs.camera(), "; ")
	if !strings.Contains(got, "camera.recording 1 "+short+" stopped limit") || !strings.Contains(got, "camera.recording 2 "+long+" stopped shutdown") {
		t.Fatalf("events: %s", got)
	}
	if _, err := r.Start(ctx, "acme", 1, 0); !errors.Is(err, pbx.ErrShuttingDown) {
		t.Fatalf("start after close: %v", err)
	}
}

// TestRecordingSilentCamera: a camera that sends no frame makes Start a
// device error within the timeout and leaves no file; one that stalls
// mid-recording ends it with a complete file of the frames so far.
func TestRecordingSilentCamera(t *testing.T) {
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=b")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer silent.Close()
	stalling, _ := mjpegServer(t, true)
	r, store, _ := newTestRecorder(t,
		CameraSpec{Tenant: "acme", ID: 1, Driver: &HTTPCamera{StreamURL: silent.URL}},
		CameraSpec{Tenant: "acme", ID: 2, Driver: &HTTPCamera{StreamURL: stalling.URL + "/stream", Username: "cam", Password: "pw", StallTimeout: 300 * time.Millisecond}})
	r.firstFrame = 300 * time.Millisecond
	start := time.Now()
	if _, err := r.Start(context.Background(), "acme", 1, 0); !errors.Is(err, ErrDevice) {
		t.Fatalf("silent camera: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("silent camera answered after %s", time.Since(start))
	}
	if files, _ := store.CameraFiles("acme", 1); len(files) != 0 {
		t.Fatalf("silent camera left files: %+v", files)
	}
	name, err := r.Start(context.Background(), "acme", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.Recording("acme")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a stalled camera's recording did not end")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The camera sent 2 frames; the second one's end is only known from
	// the boundary that never came, so 1 is kept.
	if n := readRecording(t, store, "acme", name); n < 1 || n > 2 {
		t.Fatalf("stalled camera: %d frames, want those it sent", n)
	}
}

// camera renders the camera events published so far.
func (e *events) camera() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.es {
		if ev.Type == EvCameraRecording || ev.Type == EvCameraPicture {
			out = append(out, strings.TrimSpace(strings.Join([]string{string(ev.Type), ev.Data["camera"], ev.Data["name"], ev.Data["state"], ev.Data["reason"]}, " ")))
		}
	}
	return out
}
