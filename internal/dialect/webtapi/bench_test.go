package webtapi

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// benchCalls puts n answered two-party calls between extensions into the
// fixture's core and returns an admin's call_list_all URL.
func benchCalls(b *testing.B, n int) (*fixture, string) {
	b.Helper()
	f := newFixture(b)
	// The fixture knows five extensions; the calls need 2n.
	for i := 0; i < n; i++ {
		from, to := fmt.Sprintf("%d", 3000+2*i), fmt.Sprintf("%d", 3001+2*i)
		a, c, err := f.core.NewCall(tenant, from, to, false, pbx.ChannelSpec{Peer: from, Exten: from, Dir: pbx.Inbound, CallerIDNum: from})
		if err != nil {
			b.Fatal(err)
		}
		bch, err := f.core.AddChannel(tenant, c.ID, pbx.ChannelSpec{Peer: to, Exten: to, Dir: pbx.Outbound, CallerIDNum: from})
		if err != nil {
			b.Fatal(err)
		}
		f.core.SetChannelState(a, pbx.ChanUp)
		f.core.SetChannelState(bch, pbx.ChanUp)
		f.core.CallAnswered(tenant, c.ID)
	}
	sid := f.login(b, "admin", "admin")
	return f, f.srv.URL + Path + "?action=call_list_all&SID=" + url.QueryEscape(sid)
}

// BenchmarkCallListAll500 is call_list_all with 500 live calls (1,000
// channels, one concise line each) over real HTTP connections, 16 clients
// at once: it reports requests per second and the p50 and p99 latency.
// The calls live in the core without SIP, so this is the dialect's and
// the core's cost, not the network's.
//
//	go test -run '^$' -bench BenchmarkCallListAll500 -benchtime 2000x ./internal/dialect/webtapi/
func BenchmarkCallListAll500(b *testing.B) {
	f, u := benchCalls(b, 500)
	const clients = 16
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	var size int64
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= b.N {
					return
				}
				t0 := time.Now()
				res, err := f.srv.Client().Get(u)
				if err != nil {
					b.Error(err)
					return
				}
				n, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || n < 1000*80 {
					b.Errorf("status %d, %d bytes", res.StatusCode, n)
					return
				}
				lat[k] = time.Since(t0)
				size = n
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.SetBytes(size)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkCallListAll500Wrk is the same server measured by wrk (Debian's
// HTTP load tool) for WEBTAPI_WRK_SECONDS (default 10) with 2 threads and
// 16 connections; it reports wrk's requests per second and latency
// percentiles. Run it once:
//
//	go test -run '^$' -bench BenchmarkCallListAll500Wrk -benchtime 1x ./internal/dialect/webtapi/
func BenchmarkCallListAll500Wrk(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not installed (apt-get install wrk)")
	}
	secs := 10
	if s := os.Getenv("WEBTAPI_WRK_SECONDS"); s != "" {
		if secs, err = strconv.Atoi(s); err != nil || secs < 1 {
			b.Fatalf("WEBTAPI_WRK_SECONDS=%q", s)
		}
	}
	_, u := benchCalls(b, 500)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := exec.Command(wrk, "-t2", "-c16", fmt.Sprintf("-d%ds", secs), "--latency", u).CombinedOutput()
		if err != nil {
			b.Fatalf("wrk: %v\n%s", err, out)
		}
		if testing.Verbose() {
			b.Logf("%s", out)
		}
		if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindSubmatch(out); m != nil {
			b.Fatalf("wrk saw %s failed responses", m[1])
		}
		rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
		p50 := regexp.MustCompile(`\s50%\s+([0-9.]+)(us|ms|s)`).FindSubmatch(out)
		p99 := regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`).FindSubmatch(out)
		if rps == nil || p50 == nil || p99 == nil {
			b.Fatalf("unexpected wrk output:\n%s", out)
		}
		v, _ := strconv.ParseFloat(string(rps[1]), 64)
		b.ReportMetric(v, "req/s")
		b.ReportMetric(millis(p50), "p50-ms")
		b.ReportMetric(millis(p99), "p99-ms")
	}
}

// millis converts a wrk latency ("1.23ms", "850.00us", "1.02s") to ms.
func millis(m [][]byte) float64 {
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	switch string(m[2]) {
	case "us":
		return v / 1000
	case "s":
		return v * 1000
	}
	return v
}
