package devices

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// MaxFrame bounds one JPEG frame from a camera: a stalled or malicious
// upstream cannot make us buffer without end.
const MaxFrame = 8 << 20

// CameraDriver gives a camera's pictures.
type CameraDriver interface {
	// Snapshot returns one complete JPEG.
	Snapshot(ctx context.Context) ([]byte, error)
	// Stream delivers JPEG frames to fn until ctx ends or the camera
	// fails; fn must not keep the slice.
	Stream(ctx context.Context, fn func(frame []byte)) error
	Kind() string
}

// CameraSpec configures one camera.
type CameraSpec struct {
	Tenant string
	ID     int
	Name   string
	Driver CameraDriver
	// Extension is the door phone the camera is bound to ("": none).
	Extension string
}

// Camera is a camera as the APIs list it.
type Camera struct {
	Tenant    string
	ID        int
	Name      string
	Driver    string
	Extension string
}

// Cameras is every tenant's cameras; each live stream is read from its
// camera once, however many viewers watch it.
type Cameras struct {
	byKey map[relayKey]*camera
}

type camera struct {
	spec CameraSpec

	mu      sync.Mutex
	viewers map[chan []byte]struct{}
	cancel  context.CancelFunc // the upstream reader, while anyone watches
	done    chan struct{}      // closed when the upstream reader ended
	err     error              // why the upstream ended, for late viewers
}

// NewCameras builds the cameras.
func NewCameras(specs []CameraSpec) (*Cameras, error) {
	c := &Cameras{byKey: map[relayKey]*camera{}}
	for _, s := range specs {
		k := relayKey{s.Tenant, s.ID}
		if c.byKey[k] != nil {
			return nil, fmt.Errorf("camera %d of %s defined twice", s.ID, s.Tenant)
		}
		if s.Driver == nil {
			return nil, fmt.Errorf("camera %d of %s: no driver", s.ID, s.Tenant)
		}
		c.byKey[k] = &camera{spec: s, viewers: map[chan []byte]struct{}{}}
	}
	return c, nil
}

// List lists a tenant's cameras by id.
func (c *Cameras) List(tenant string) []Camera {
	var out []Camera
	for k, x := range c.byKey {
		if k.tenant == tenant {
			out = append(out, Camera{Tenant: tenant, ID: k.id, Name: x.spec.Name, Driver: x.spec.Driver.Kind(), Extension: x.spec.Extension})
		}
	}
	slices.SortFunc(out, func(a, b Camera) int { return a.ID - b.ID })
	return out
}

func (c *Cameras) find(tenant string, id int) (*camera, error) {
	if x := c.byKey[relayKey{tenant, id}]; x != nil {
		return x, nil
	}
	return nil, fmt.Errorf("camera %d: %w", id, pbx.ErrNotFound)
}

// Snapshot is one JPEG from the camera.
func (c *Cameras) Snapshot(ctx context.Context, tenant string, id int) ([]byte, error) {
	x, err := c.find(tenant, id)
	if err != nil {
		return nil, err
	}
	dctx, cancel := withTimeout(ctx)
	defer cancel()
	b, err := x.spec.Driver.Snapshot(dctx)
	if err != nil {
		return nil, fmt.Errorf("camera %d: %w: %v", id, ErrDevice, err)
	}
	return b, nil
}

// Watch streams the camera's frames to fn until ctx ends or the camera
// fails. Viewers share one upstream reader; a viewer that cannot keep up
// skips frames rather than slowing the others.
func (c *Cameras) Watch(ctx context.Context, tenant string, id int, fn func(frame []byte) error) error {
	x, err := c.find(tenant, id)
	if err != nil {
		return err
	}
	ch, done := x.join()
	defer x.leave(ch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			x.mu.Lock()
			err := x.err
			x.mu.Unlock()
			return fmt.Errorf("camera %d: %w: %v", id, ErrDevice, err)
		case f := <-ch:
			if err := fn(f); err != nil {
				return err
			}
		}
	}
}

// join adds a viewer, starting the upstream reader for the first one.
func (x *camera) join() (chan []byte, <-chan struct{}) {
	x.mu.Lock()
	defer x.mu.Unlock()
	ch := make(chan []byte, 2)
	x.viewers[ch] = struct{}{}
	if x.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		x.cancel, x.done, x.err = cancel, make(chan struct{}), nil
		done := x.done
		go func() {
			err := x.spec.Driver.Stream(ctx, x.broadcast)
			if err == nil {
				err = errors.New("stream ended")
			}
			x.mu.Lock()
			x.err = err
			x.cancel = nil
			x.mu.Unlock()
			close(done)
		}()
	}
	return ch, x.done
}

// leave removes a viewer; the last one stops the upstream reader.
func (x *camera) leave(ch chan []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.viewers, ch)
	if len(x.viewers) == 0 && x.cancel != nil {
		x.cancel()
		x.cancel = nil
	}
}

// broadcast hands a frame to every viewer that has room for it.
func (x *camera) broadcast(frame []byte) {
	f := bytes.Clone(frame)
	x.mu.Lock()
	defer x.mu.Unlock()
	for ch := range x.viewers {
		select {
		case ch <- f:
		default: // slow viewer: it misses this frame
		}
	}
}

// Synthetic is a test-pattern camera with a running clock (the demo's
// camera 44): colour bars whose offset moves every frame.
type Synthetic struct {
	Width, Height int
	FPS           int // default 5
	Now           func() time.Time
}

func (s Synthetic) Kind() string { return "synthetic" }

func (s Synthetic) frame() ([]byte, error) {
	w, h := s.Width, s.Height
	if w <= 0 || h <= 0 {
		w, h = 320, 240
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bars := []color.RGBA{{255, 255, 255, 255}, {255, 255, 0, 255}, {0, 255, 255, 255}, {0, 255, 0, 255},
		{255, 0, 255, 255}, {255, 0, 0, 255}, {0, 0, 255, 255}, {0, 0, 0, 255}}
	shift := int(t.UnixMilli()/200) % w
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, bars[((x+shift)%w)*len(bars)/w])
		}
	}
	// The clock: one block per second of the minute along the bottom.
	for i := 0; i <= t.Second(); i++ {
		for y := h - 8; y < h; y++ {
			for x := i * w / 60; x < (i+1)*w/60 && x < w; x++ {
				img.Set(x, y, color.RGBA{0, 0, 0, 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s Synthetic) Snapshot(context.Context) ([]byte, error) { return s.frame() }

func (s Synthetic) Stream(ctx context.Context, fn func([]byte)) error {
	fps := s.FPS
	if fps <= 0 {
		fps = 5
	}
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for {
		f, err := s.frame()
		if err != nil {
			return err
		}
		fn(f)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// HTTPCamera is an IP camera's snapshot URL and MJPEG stream URL, with
// optional HTTP Basic credentials.
type HTTPCamera struct {
	SnapshotURL, StreamURL string
	Username, Password     string
	Client                 *http.Client // default: no redirects followed
	// StallTimeout ends a stream whose camera sends nothing for this long
	// (default 10 s), so its viewers get an error instead of a frozen
	// picture.
	StallTimeout time.Duration
}

func (h *HTTPCamera) Kind() string { return "http" }

func (h *HTTPCamera) get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if h.Username != "" {
		req.SetBasicAuth(h.Username, h.Password)
	}
	c := h.Client
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("camera answered %d", res.StatusCode)
	}
	return res, nil
}

func (h *HTTPCamera) Snapshot(ctx context.Context) ([]byte, error) {
	res, err := h.get(ctx, h.SnapshotURL)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxFrame+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFrame || !isJPEG(b) {
		return nil, errors.New("camera snapshot is not a JPEG of at most 8 MiB")
	}
	return b, nil
}

// Stream reads a multipart/x-mixed-replace MJPEG stream. A part that
// stalls longer than the stall timeout ends the stream (viewers get an
// error) instead of hanging them.
func (h *HTTPCamera) Stream(ctx context.Context, fn func([]byte)) error {
	res, err := h.get(ctx, h.StreamURL)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return fmt.Errorf("camera stream is not multipart (%q)", res.Header.Get("Content-Type"))
	}
	stall := h.StallTimeout
	if stall <= 0 {
		stall = 10 * time.Second
	}
	body := newStallReader(res.Body, stall)
	defer body.stop()
	mr := multipart.NewReader(bufio.NewReader(body), strings.TrimPrefix(params["boundary"], "--"))
	for {
		p, err := mr.NextPart()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("camera stream: %w", err)
		}
		b, err := readPart(p)
		if err != nil {
			return fmt.Errorf("camera stream: %w", err)
		}
		if len(b) > MaxFrame || !isJPEG(b) {
			return errors.New("camera stream: a part is not a JPEG of at most 8 MiB")
		}
		fn(b)
	}
}

// readPart reads one frame. With a Content-Length (most cameras send
// one) exactly that many bytes are read, so the frame goes out as soon as
// it arrived; without, the end is known only from the next boundary,
// which costs viewers a frame interval of latency.
func readPart(p *multipart.Part) ([]byte, error) {
	if cl, err := strconv.Atoi(p.Header.Get("Content-Length")); err == nil && cl > 0 && cl <= MaxFrame {
		b := make([]byte, cl)
		if _, err := io.ReadFull(p, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(io.LimitReader(p, MaxFrame+1))
}

// stallReader ends a stream that sends nothing for timeout: a watchdog
// closes the body (which fails the blocked read), re-armed by every read
// that returns data. One timer per stream, not a goroutine per read.
type stallReader struct {
	r       io.ReadCloser
	timeout time.Duration
	timer   *time.Timer
	stalled atomic.Bool
}

func newStallReader(r io.ReadCloser, timeout time.Duration) *stallReader {
	s := &stallReader{r: r, timeout: timeout}
	s.timer = time.AfterFunc(timeout, func() {
		s.stalled.Store(true)
		r.Close()
	})
	return s
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.stalled.Load() {
		return n, errors.New("camera stalled")
	}
	if n > 0 {
		s.timer.Reset(s.timeout)
	}
	return n, err
}

func (s *stallReader) stop() { s.timer.Stop() }

func isJPEG(b []byte) bool { return len(b) > 3 && b[0] == 0xff && b[1] == 0xd8 }
