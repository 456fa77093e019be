package devices

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Kinds of camera file (the artifacts store's names for them).
const (
	KindRecording = "recording"
	KindPicture   = "picture"
)

// MaxRecording bounds one camera recording: "until stopped" still ends
// after an hour, so a forgotten recording cannot fill the disk.
const MaxRecording = time.Hour

// RecordingBoundary separates the frames of a recorded .mjpeg file, which
// is written exactly as a multipart/x-mixed-replace stream (each part an
// image/jpeg with Content-Length and X-Timestamp), so a browser shows it
// served with that content type and ffmpeg reads it as mpjpeg.
const RecordingBoundary = "switchboardframe"

// Events of camera files, published through the core's event stream.
const (
	// EvCameraRecording: a recording started or stopped (data: camera,
	// name, state started|stopped, and on stop frames and reason: stop,
	// limit, shutdown or error).
	EvCameraRecording pbx.EventType = "camera.recording"
	// EvCameraPicture: a picture was saved (data: camera, name).
	EvCameraPicture pbx.EventType = "camera.picture"
)

// firstFrameTimeout is how long a recording waits for the camera's first
// frame before the start is refused as a device error.
const firstFrameTimeout = deviceTimeout

// CameraStore makes camera files (*artifacts.Store): it names them.
type CameraStore interface {
	NewCameraFile(tenant string, camera int, kind string, now time.Time) (string, io.WriteCloser, error)
}

// Recorder records cameras' streams and saves their pictures into the
// artifacts store. It owns every recording goroutine; Close stops them
// and waits, leaving complete files.
type Recorder struct {
	cams  *Cameras
	files CameraStore
	pub   Publisher // nil: no events
	log   *slog.Logger
	now   func() time.Time
	// firstFrame is how long Start waits for the camera's first frame.
	firstFrame time.Duration

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	active map[relayKey]*recording
	wg     sync.WaitGroup
}

type recording struct {
	name    string // set when the first frame is written (under Recorder.mu)
	stop    context.CancelFunc
	done    chan struct{}
	stopped bool // Stop asked for the end (under Recorder.mu)
}

// NewRecorder builds the recorder; pub (the core) and log may be nil.
func NewRecorder(cams *Cameras, files CameraStore, pub Publisher, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Recorder{cams: cams, files: files, pub: pub, log: log.With("component", "camera_recorder"), now: time.Now,
		firstFrame: firstFrameTimeout, ctx: ctx, cancel: cancel, active: map[relayKey]*recording{}}
}

type started struct {
	name string
	err  error
}

// Start records camera id of tenant until max (0: MaxRecording) or Stop.
// It returns once the first frame is on disk, with the file's name; a
// camera that sends nothing within its timeout is ErrDevice and leaves no
// file. One recording per camera at a time (pbx.ErrBusy).
func (r *Recorder) Start(ctx context.Context, tenant string, id int, max time.Duration) (string, error) {
	if _, err := r.cams.find(tenant, id); err != nil {
		return "", err
	}
	if max < 0 || max > MaxRecording {
		return "", fmt.Errorf("recording length must be between 0 (up to %s) and %s: %w", MaxRecording, MaxRecording, pbx.ErrInvalidArgument)
	}
	if max == 0 {
		max = MaxRecording
	}
	k := relayKey{tenant, id}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return "", fmt.Errorf("camera %d: %w", id, pbx.ErrShuttingDown)
	}
	if cur := r.active[k]; cur != nil {
		r.mu.Unlock()
		return "", fmt.Errorf("camera %d is recording already: %w", id, pbx.ErrBusy)
	}
	rctx, stop := context.WithTimeout(r.ctx, max)
	rec := &recording{stop: stop, done: make(chan struct{})}
	r.active[k] = rec
	r.wg.Add(1)
	r.mu.Unlock()
	res := make(chan started, 1)
	go r.run(rctx, k, rec, res)
	select {
	case s := <-res:
		return s.name, s.err
	case <-ctx.Done():
		stop()
		<-rec.done
		return "", ctx.Err()
	}
}

// run writes the frames of one recording; it reports its start (or why
// it could not start) on res exactly once.
func (r *Recorder) run(ctx context.Context, k relayKey, rec *recording, res chan<- started) {
	defer r.wg.Done()
	defer close(rec.done)
	defer func() {
		r.mu.Lock()
		if r.active[k] == rec {
			delete(r.active, k)
		}
		r.mu.Unlock()
	}()
	defer rec.stop()
	noFrame := time.AfterFunc(r.firstFrame, rec.stop)
	defer noFrame.Stop()
	var (
		f    io.WriteCloser
		w    *bufio.Writer
		n    int
		name string
	)
	err := r.cams.Watch(ctx, k.tenant, k.id, func(frame []byte) error {
		if f == nil {
			noFrame.Stop()
			var err error
			name, f, err = r.files.NewCameraFile(k.tenant, k.id, KindRecording, r.now())
			if err != nil {
				return fmt.Errorf("camera %d recording: %w", k.id, err)
			}
			w = bufio.NewWriterSize(f, 64<<10)
			r.mu.Lock()
			rec.name = name
			r.mu.Unlock()
		}
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %s\r\n\r\n",
			RecordingBoundary, len(frame), r.now().UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
		n++
		if n == 1 {
			if err := w.Flush(); err != nil { // the first frame is on disk before Start returns
				return err
			}
			res <- started{name: name}
			r.publish(k.tenant, EvCameraRecording, map[string]string{"camera": strconv.Itoa(k.id), "name": name, "state": "started"})
		}
		return nil
	})
	if f == nil {
		switch {
		case err != nil:
		case r.ctx.Err() != nil:
			err = fmt.Errorf("camera %d: %w", k.id, pbx.ErrShuttingDown)
		default:
			err = fmt.Errorf("camera %d sent no frame within %s: %w", k.id, r.firstFrame, ErrDevice)
		}
		res <- started{err: err}
		return
	}
	if n == 0 { // the file was made but its first frame could not be written
		res <- started{err: err}
	}
	errs := []error{err}
	if w != nil {
		_, werr := fmt.Fprintf(w, "--%s--\r\n", RecordingBoundary) // the multipart's end: the file is complete
		errs = append(errs, werr, w.Flush())
	}
	errs = append(errs, f.Close())
	r.mu.Lock()
	reason := "limit"
	switch {
	case rec.stopped:
		reason = "stop"
	case r.ctx.Err() != nil:
		reason = "shutdown"
	}
	r.mu.Unlock()
	ferr := errors.Join(errs...)
	if ferr != nil {
		reason = "error"
		r.log.Warn("camera recording ended early", "tenant", k.tenant, "camera", k.id, "file", name, "frames", n, "err", ferr)
	} else {
		r.log.Info("camera recording saved", "tenant", k.tenant, "camera", k.id, "file", name, "frames", n)
	}
	r.publish(k.tenant, EvCameraRecording, map[string]string{"camera": strconv.Itoa(k.id), "name": name, "state": "stopped",
		"frames": strconv.Itoa(n), "reason": reason})
}

func (r *Recorder) publish(tenant string, typ pbx.EventType, data map[string]string) {
	if r.pub == nil {
		return
	}
	if err := r.pub.Publish(tenant, pbx.Event{Type: typ, Data: data}); err != nil && !errors.Is(err, pbx.ErrShuttingDown) {
		r.log.Warn("camera event not published", "type", string(typ), "err", err)
	}
}

// Stop ends camera id's recording and returns its file's name once the
// file is complete. A camera not recording is pbx.ErrNotFound.
func (r *Recorder) Stop(ctx context.Context, tenant string, id int) (string, error) {
	if _, err := r.cams.find(tenant, id); err != nil {
		return "", err
	}
	r.mu.Lock()
	rec := r.active[relayKey{tenant, id}]
	r.mu.Unlock()
	if rec == nil {
		return "", fmt.Errorf("camera %d is not recording: %w", id, pbx.ErrNotFound)
	}
	r.mu.Lock()
	rec.stopped = true
	r.mu.Unlock()
	rec.stop()
	select {
	case <-rec.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	r.mu.Lock()
	name := rec.name
	r.mu.Unlock()
	if name == "" {
		return "", fmt.Errorf("camera %d is not recording: %w", id, pbx.ErrNotFound)
	}
	return name, nil
}

// Recording lists the names of a tenant's running recordings' files.
func (r *Recorder) Recording(tenant string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, rec := range r.active {
		if k.tenant == tenant && rec.name != "" {
			out = append(out, rec.name)
		}
	}
	sort.Strings(out)
	return out
}

// Picture saves one JPEG of camera id and returns its file's name.
func (r *Recorder) Picture(ctx context.Context, tenant string, id int) (string, error) {
	b, err := r.cams.Snapshot(ctx, tenant, id)
	if err != nil {
		return "", err
	}
	name, f, err := r.files.NewCameraFile(tenant, id, KindPicture, r.now())
	if err != nil {
		return "", fmt.Errorf("camera %d picture: %w", id, err)
	}
	_, werr := f.Write(b)
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("camera %d picture %s: %w", id, name, err)
	}
	r.publish(tenant, EvCameraPicture, map[string]string{"camera": strconv.Itoa(id), "name": name})
	return name, nil
}

// Close stops every recording (their files end complete) and waits.
func (r *Recorder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	return nil
}
