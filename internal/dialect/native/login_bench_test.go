package native

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// BenchmarkLogin100Concurrent: 100 logins at once over HTTP Basic
// against the native API. "mixed": 100 distinct users, each from its own
// loopback address, half with a wrong password, half with the right one.
// "guessing": 100 wrong passwords for one account from one address (a
// brute-force burst). Each round builds a
// fresh directory, so no login is served from the verified-password cache
// and every one costs what a first login (or a guess) costs. Reports the
// process's peak RSS during the rounds (VmHWM, reset before them), the
// peak Go heap in use (HeapInuse, sampled every 5 ms), p50/p99 login latency and, where the
// directory counts them, argon2id checks per round. Run:
//
//	go test -run '^$' -bench BenchmarkLogin100Concurrent -benchtime 5x ./internal/dialect/native/
//
// The file uses only API that existed before issue 9, so the same command
// measures the code before the fix.
func BenchmarkLogin100Concurrent(b *testing.B) {
	b.Run("mixed", func(b *testing.B) { benchLogins(b, false) })
	b.Run("guessing", func(b *testing.B) { benchLogins(b, true) })
}

func benchLogins(b *testing.B, guessing bool) {
	const users = 100
	t := &testing.T{}
	f := newFixture(t)
	defer f.srv.Close()
	hash, err := auth.HashPassword("right-password-1")
	if err != nil {
		b.Fatal(err)
	}
	us := make([]auth.User, users)
	for i := range us {
		us[i] = auth.User{Tenant: "a", Name: fmt.Sprintf("user%03d", i), PasswordHash: hash, Role: "readonly"}
	}
	clients := make([]*http.Client, users)
	for i := range clients {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 10, byte(i+1))}}
		clients[i] = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	}
	var (
		lat      []time.Duration
		statuses = map[int]int{}
		checks   uint64
		peakHeap atomic.Uint64
	)
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
			}
		}
	}()
	debug.FreeOSMemory() // what earlier runs left mapped is not this run's peak
	resetPeakRSS()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir, err := auth.NewDirectory(us, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		api := New(f.core, f.cdrs, dir, nil)
		api.SetLimiter(auth.NewLimiter(5, 15*time.Minute, nil))
		srv := httptest.NewServer(api.Handler())
		b.StartTimer()
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name, pw, c := us[i].Name, "right-password-1", clients[i]
				if i%2 == 0 {
					pw = "wrong-password-1"
				}
				if guessing {
					name, pw, c = us[0].Name, fmt.Sprintf("guess-%d", i), clients[0]
				}
				req, _ := http.NewRequest("GET", srv.URL+"/api/v1/extensions", nil)
				req.SetBasicAuth(name, pw)
				<-start
				t0 := time.Now()
				res, err := c.Do(req)
				d := time.Since(t0)
				code := 0
				if err == nil {
					code = res.StatusCode
					res.Body.Close()
				}
				mu.Lock()
				lat = append(lat, d)
				statuses[code]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		b.StopTimer()
		if c, ok := any(dir).(interface{ Verifications() uint64 }); ok {
			checks += c.Verifications()
		}
		srv.Close()
		b.StartTimer()
	}
	b.StopTimer()
	close(stop)
	sampler.Wait()
	// 503 is the bounded pool refusing to wait longer (a loaded machine);
	// anything else means the run measured something other than logins.
	if statuses[200]+statuses[401]+statuses[429]+statuses[503] != users*b.N || !guessing && statuses[429] != 0 {
		b.Fatalf("statuses %v", statuses)
	}
	if statuses[503] > 0 {
		b.ReportMetric(float64(statuses[503])/float64(b.N), "503/round")
	}
	if guessing {
		b.ReportMetric(float64(statuses[401])/float64(b.N), "401/round")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(peakRSSKB())/1024, "peak-RSS-MB")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-HeapInuse-MB")
	if checks > 0 {
		b.ReportMetric(float64(checks)/float64(b.N), "argon2/round")
	}
}

// resetPeakRSS resets the kernel's VmHWM for this process (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSKB is VmHWM from /proc/self/status, in KiB (0 when unknown).
func peakRSSKB() int {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
