package devices

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// mjpegServer serves a synthetic camera as MJPEG and counts connections;
// stall makes it stop sending after two frames.
func mjpegServer(t *testing.T, stall bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	cam := Synthetic{Width: 64, Height: 48}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "cam" || p != "pw" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Path == "/snapshot.jpg" {
			b, _ := cam.Snapshot(r.Context())
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(b)
			return
		}
		conns.Add(1)
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=--myboundary")
		for i := 0; ; i++ {
			if stall && i >= 2 {
				<-r.Context().Done()
				return
			}
			b, _ := cam.Snapshot(r.Context())
			if _, err := fmt.Fprintf(w, "--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(b)); err != nil {
				return
			}
			w.Write(b)
			w.Write([]byte("\r\n"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestManyViewersOneUpstream: 50 viewers of one HTTP camera share one
// connection to it, and every frame they get is a complete JPEG.
func TestManyViewersOneUpstream(t *testing.T) {
	srv, conns := mjpegServer(t, false)
	cams, err := NewCameras([]CameraSpec{{Tenant: "a", ID: 44, Name: "Door", Driver: &HTTPCamera{SnapshotURL: srv.URL + "/snapshot.jpg",
		StreamURL: srv.URL + "/video.mjpg", Username: "cam", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			vctx, vcancel := context.WithCancel(ctx)
			defer vcancel()
			_ = cams.Watch(vctx, "a", 44, func(f []byte) error {
				if _, err := jpeg.Decode(bytes.NewReader(f)); err != nil {
					bad.Add(1)
				}
				if n++; n == 5 {
					vcancel()
				}
				return nil
			})
			if n < 5 {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 || conns.Load() != 1 {
		t.Fatalf("bad viewers %d, upstream connections %d (want 1)", bad.Load(), conns.Load())
	}
	b, err := cams.Snapshot(ctx, "a", 44)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := jpeg.Decode(bytes.NewReader(b)); err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("snapshot: %v", err)
	}
	if _, err := cams.Snapshot(ctx, "b", 44); err == nil {
		t.Fatal("another tenant's camera")
	}
}

// TestStalledCamera: a camera that stops sending ends its viewers' stream
// with a device error within the stall timeout; other cameras go on.
func TestStalledCamera(t *testing.T) {
	stalled, _ := mjpegServer(t, true)
	fine, _ := mjpegServer(t, false)
	cams, _ := NewCameras([]CameraSpec{
		{Tenant: "a", ID: 1, Driver: &HTTPCamera{StreamURL: stalled.URL + "/v", Username: "cam", Password: "pw", StallTimeout: 300 * time.Millisecond}},
		{Tenant: "a", ID: 2, Driver: &HTTPCamera{StreamURL: fine.URL + "/v", Username: "cam", Password: "pw"}},
		{Tenant: "a", ID: 3, Driver: &HTTPCamera{StreamURL: fine.URL + "/v", Username: "cam", Password: "wrong"}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fineFrames := make(chan struct{}, 100)
	go cams.Watch(ctx, "a", 2, func([]byte) error { fineFrames <- struct{}{}; return nil })
	began := time.Now()
	err := cams.Watch(ctx, "a", 1, func([]byte) error { return nil })
	if !errors.Is(err, ErrDevice) || time.Since(began) > 3*time.Second {
		t.Fatalf("stalled camera: %v after %v", err, time.Since(began))
	}
	if err := cams.Watch(ctx, "a", 3, func([]byte) error { return nil }); !errors.Is(err, ErrDevice) {
		t.Fatalf("refused credentials: %v", err)
	}
	select {
	case <-fineFrames:
	case <-time.After(3 * time.Second):
		t.Fatal("the other camera stopped too")
	}
}

// TestFrameBeforeNextBoundary: a part with a Content-Length reaches
// viewers as soon as its bytes are in, not when the next part begins (a
// frame interval later).
func TestFrameBeforeNextBoundary(t *testing.T) {
	frame, _ := Synthetic{Width: 32, Height: 24}.Snapshot(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=b")
		fmt.Fprintf(w, "--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(frame))
		w.Write(frame)
		w.Write([]byte("\r\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the next boundary never comes
	}))
	defer srv.Close()
	cams, _ := NewCameras([]CameraSpec{{Tenant: "a", ID: 1, Driver: &HTTPCamera{StreamURL: srv.URL}}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got := make(chan []byte, 1)
	go cams.Watch(ctx, "a", 1, func(f []byte) error {
		select {
		case got <- bytes.Clone(f):
		default:
		}
		return nil
	})
	select {
	case f := <-got:
		if !bytes.Equal(f, frame) {
			t.Fatalf("frame of %d bytes, sent %d", len(f), len(frame))
		}
	case <-ctx.Done():
		t.Fatal("the frame waited for the next boundary")
	}
}
