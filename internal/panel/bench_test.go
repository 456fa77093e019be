package panel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// benchAPI is a stand-in for the native API with a big switchboard:
// exts extensions, calls of them paired in live calls, and an event
// stream that changes one extension's state every `every`. It measures
// the browser side only (the node's own cost is measured elsewhere), so
// the page sees exactly the API's wire shapes at a load no demo makes.
func benchAPI(exts, calls int, every time.Duration) http.Handler {
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	num := func(i int) string { return fmt.Sprint(10000 + i) }
	now := time.Now().UTC()
	mux.HandleFunc("POST /api/v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		js(w, map[string]any{"sid": "bench", "user": "bench", "tenant": "t", "role": "admin"})
	})
	mux.HandleFunc("GET /api/v1/sessions/current", func(w http.ResponseWriter, r *http.Request) {
		js(w, map[string]any{"user": "bench", "tenant": "t", "role": "operator",
			"rights": []string{"calls.control", "calls.read", "directory.read", "events.read"}})
	})
	mux.HandleFunc("GET /api/v1/extensions", func(w http.ResponseWriter, r *http.Request) {
		out := make([]map[string]any, exts)
		for i := range out {
			state := 0
			if i < 2*calls {
				state = 1
			}
			out[i] = map[string]any{"number": num(i), "name": "Ext " + num(i), "state": state, "registered": true}
		}
		js(w, out)
	})
	mux.HandleFunc("GET /api/v1/calls", func(w http.ResponseWriter, r *http.Request) {
		out := make([]map[string]any, calls)
		for i := range out {
			ch := func(k int) map[string]any {
				return map[string]any{"uniqueid": fmt.Sprintf("u%d", k), "call_id": fmt.Sprintf("c%d", i), "peer": num(k),
					"state": "up", "created": now, "answered": now}
			}
			out[i] = map[string]any{"id": fmt.Sprintf("c%d", i), "from": num(2 * i), "to": num(2*i + 1),
				"channels": []any{ch(2 * i), ch(2*i + 1)}, "created": now, "answered": now}
		}
		js(w, out)
	})
	mux.HandleFunc("GET /api/v1/relays", func(w http.ResponseWriter, r *http.Request) { js(w, map[string]any{"relays": []any{}}) })
	var seq atomic.Uint64
	mux.HandleFunc("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := c.CloseRead(r.Context())
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			k := 2*calls + i%(exts-2*calls) // the idle ones ring and stop
			b, _ := json.Marshal(map[string]any{"seq": seq.Add(1), "type": "extension.state", "time": time.Now(),
				"extension": map[string]any{"number": num(k), "name": "Ext " + num(k), "state": 8 * (i / (exts - 2*calls) % 2), "registered": true}})
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
		}
	})
	return mux
}

// BenchmarkSwitchboardBrowser: the switchboard with 500 extensions and 200
// live calls while 200 state changes a second arrive, in headless
// Chromium. Each iteration watches 3 s of frames; the metrics are the
// 95th percentile and worst frame time and the page's JS heap. Run:
// go test -run '^$' -bench SwitchboardBrowser -benchtime 1x ./internal/panel
func BenchmarkSwitchboardBrowser(b *testing.B) {
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		b.Skip("no chromium binary found")
	}
	h, err := New("/api/v1")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(Compose(benchAPI(500, 200, 5*time.Millisecond), h))
	defer srv.Close()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.Flag("enable-precise-memory-info", true), chromedp.WindowSize(1400, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelT()
	if err := chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#login-user`, chromedp.ByQuery),
		chromedp.SendKeys(`#login-user`, "bench", chromedp.ByQuery),
		chromedp.SendKeys(`#login-password`, "bench", chromedp.ByQuery),
		chromedp.Click(`#login-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-10499`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-10399[data-state="inuse"]`, chromedp.ByQuery),
	); err != nil {
		b.Fatal(err)
	}
	const measure = `new Promise((done) => {
		const gaps = []; let last = performance.now(); const end = last + 3000;
		const frame = (t) => { gaps.push(t - last); last = t; if (t < end) requestAnimationFrame(frame); else {
			gaps.sort((a, b) => a - b);
			done(JSON.stringify({ p95: gaps[Math.floor(gaps.length * 0.95)], max: gaps[gaps.length - 1],
				heap: performance.memory ? performance.memory.usedJSHeapSize : 0, tiles: document.querySelectorAll(".tile").length, frames: gaps.length }));
		} };
		requestAnimationFrame(frame);
	})`
	var p95, worst, heap float64
	b.ResetTimer()
	for range b.N {
		var out string
		if err := chromedp.Run(ctx, chromedp.Evaluate(measure, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		})); err != nil {
			b.Fatal(err)
		}
		var m struct{ P95, Max, Heap, Tiles float64 }
		if err := json.Unmarshal([]byte(out), &m); err != nil || m.Tiles != 500 {
			b.Fatalf("measure: %v %s", err, out)
		}
		if testing.Verbose() {
			b.Log(out)
		}
		p95, worst, heap = p95+m.P95, max(worst, m.Max), max(heap, m.Heap)
	}
	b.ReportMetric(p95/float64(b.N), "p95-frame-ms")
	b.ReportMetric(worst, "max-frame-ms")
	b.ReportMetric(heap/(1<<20), "heap-MiB")
}
