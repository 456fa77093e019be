//go:build unix

package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/devices"
)

// stampFrame puts the send time into a JPEG as a comment segment right
// after SOI (decoders skip it), so a viewer can measure the latency of
// every frame through the proxy.
func stampFrame(base []byte, at time.Time) []byte {
	f := make([]byte, 0, len(base)+12)
	f = append(f, base[:2]...)
	f = append(f, 0xff, 0xfe, 0, 10)
	f = binary.BigEndian.AppendUint64(f, uint64(at.UnixNano()))
	return append(f, base[2:]...)
}

func frameStamp(f []byte) (time.Time, bool) {
	if len(f) < 14 || f[2] != 0xff || f[3] != 0xfe {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(f[6:14]))), true
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCameraViewers: 50 viewers watch one HTTP camera (320x240 JPEG,
// 25 fps, served by a local MJPEG server) through the native API's
// /api/v1/cameras/{id}/stream, each over its own HTTP connection. One op
// is one second of stream. Reported: upstream connections to the camera
// (must be 1: the viewers share it), CPU per viewer (ms of process CPU
// per viewer per second of stream; an upper bound, as the process also
// runs the camera and the 50 clients), frame latency from the camera's
// send to a viewer's receipt (p50, p99) and the share of frames
// delivered (slow viewers skip frames rather than lag).
//
//	go test -run '^$' -bench BenchmarkCameraViewers -benchtime 10x ./internal/node/
func BenchmarkCameraViewers(b *testing.B) {
	const viewers, fps = 50, 25
	base, err := devices.Synthetic{Width: 320, Height: 240}.Snapshot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var conns atomic.Int32
	camCtx, stopCam := context.WithCancel(context.Background())
	defer stopCam()
	cam := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/snapshot.jpg" {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(base)
			return
		}
		conns.Add(1)
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		tick := time.NewTicker(time.Second / fps)
		defer tick.Stop()
		for {
			f := stampFrame(base, time.Now())
			if _, err := fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(f)); err != nil {
				return
			}
			w.Write(f)
			w.Write([]byte("\r\n"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-camCtx.Done():
				return
			case <-tick.C:
			}
		}
	}))
	defer cam.Close()

	cfg := config.Demo()
	t := cfg.Tenant("MojaCentrala")
	t.Cameras = append(t.Cameras, config.Camera{ID: 45, Name: "bench", URL: cam.URL + "/snapshot.jpg", StreamURL: cam.URL + "/stream.mjpg"})
	cfg.Listen.HTTP, cfg.Listen.SIP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RTP.PortMin, cfg.RTP.PortMax = 21000, 22998
	cfg.Limits.StreamsPerUser = 2 * viewers // all viewers use one key
	cfg.SetDataDir(b.TempDir())
	n, err := Start(context.Background(), cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(context.Background())

	var (
		mu        sync.Mutex
		lat       []time.Duration
		measuring atomic.Bool
		received  atomic.Int64
		started   sync.WaitGroup
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: viewers + 1, MaxIdleConnsPerHost: viewers + 1}}
	errs := make(chan error, viewers)
	started.Add(viewers)
	for i := 0; i < viewers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			defer func() {
				if first {
					started.Done()
				}
			}()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+n.HTTPAddr().String()+"/api/v1/cameras/45/stream", nil)
			// The demo's admin API key: 50 concurrent Basic logins of one
			// account would meet the login limiter's account backoff.
			req.Header.Set("Authorization", "Bearer MyExampleKey")
			res, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			_, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
			if err != nil || res.StatusCode != 200 {
				body, _ := io.ReadAll(res.Body)
				errs <- fmt.Errorf("stream: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
				return
			}
			mr := multipart.NewReader(res.Body, params["boundary"])
			var mine []time.Duration
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for {
				p, err := mr.NextPart()
				if err != nil {
					return
				}
				cl, _ := strconv.Atoi(p.Header.Get("Content-Length"))
				f := make([]byte, cl)
				if _, err := io.ReadFull(p, f); err != nil {
					return
				}
				at, ok := frameStamp(f)
				if !ok {
					errs <- fmt.Errorf("a frame lost its stamp")
					return
				}
				if first {
					first = false
					started.Done()
				}
				if measuring.Load() {
					mine = append(mine, time.Since(at))
					received.Add(1)
				}
			}
		}()
	}
	started.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	measuring.Store(true)
	time.Sleep(time.Duration(b.N) * time.Second)
	measuring.Store(false)
	cpu, elapsed := cpuTime()-cpu0, time.Since(t0)
	b.StopTimer()
	cancel()
	wg.Wait()
	if c := conns.Load(); c != 1 {
		b.Fatalf("%d upstream connections for %d viewers, want 1", c, viewers)
	}
	if len(lat) == 0 {
		b.Fatal("no frames")
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(conns.Load()), "upstream-conns")
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/viewers/elapsed.Seconds(), "cpu-ms/viewer-s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(100*float64(received.Load())/(fps*viewers*elapsed.Seconds()), "delivered-%")
}
