package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browser starts headless Chromium for a test, or skips it when none is
// installed (CI installs Debian's chromium, so there it runs). Console
// errors, uncaught exceptions and browser log errors (CSP violations,
// failed loads) fail the test.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	var exe string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Skip("no chromium binary found (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1400, 1000), chromedp.Flag("headless", "new"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				problems = append(problems, "console.error: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Error())
		case *log.EventEntryAdded:
			if e.Entry.Level == log.LevelError {
				problems = append(problems, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	if err := chromedp.Run(ctx, log.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// labelled fails the test when a form control on the page has no label
// (a <label for>, or aria-label): screen readers could not name it.
func labelled(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	var got struct {
		Shown int
		Bare  []string
	}
	step(t, ctx, "labels "+where, chromedp.Evaluate(`(() => {
		const shown = [...document.querySelectorAll('input, select, textarea')].filter((el) => el.offsetParent !== null);
		return { shown: shown.length, bare: shown.filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
			.map((el) => el.id || el.name || el.outerHTML) };
	})()`, &got))
	if got.Shown == 0 {
		t.Errorf("%s: no form controls shown", where)
	}
	if len(got.Bare) > 0 {
		t.Errorf("%s: form controls without a label: %v", where, got.Bare)
	}
}

// stableTotal waits until the API's count of CDRs for query has stopped
// changing (CDRs are written in batches, a moment after a call ends).
func stableTotal(t *testing.T, n *Node, query string, atLeast int) int {
	t.Helper()
	prev := -1
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(400 * time.Millisecond) {
		var page struct{ Total int }
		apiJSON(t, n, "GET", "/api/v1/cdrs"+query, "", &page)
		if page.Total >= atLeast && page.Total == prev {
			return page.Total
		}
		prev = page.Total
	}
	t.Fatalf("CDRs%s: no stable count of at least %d (last %d)", query, atLeast, prev)
	return 0
}

// awaitPromise makes Evaluate wait for the promise an expression returns.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// screenshot saves the page as an artefact: in $SWITCHBOARD_ARTIFACTS
// when set (CI keeps that directory), else in the test's temp dir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", p)
}

// browserLogin logs in on the panel's login form (already shown) as admin.
func browserLogin(t *testing.T, ctx context.Context) {
	t.Helper()
	step(t, ctx, "login",
		chromedp.WaitVisible(`#login-user`, chromedp.ByQuery),
		chromedp.SendKeys(`#login-user`, "admin", chromedp.ByQuery),
		chromedp.SendKeys(`#login-password`, "admin", chromedp.ByQuery),
		chromedp.Click(`#login-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn-state[data-state="live"]`, chromedp.ByQuery),
	)
}

// step runs browser actions and fails the test with a screenshot when
// they do not complete.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(name, " ", "-"))
		t.Fatalf("%s: %v", name, err)
	}
}

func apiJSON(t *testing.T, n *Node, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.HTTPAddr().String()+path, strings.NewReader(body))
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// TestPanelBrowser drives the panel in headless Chromium against the demo
// node: log in as admin, watch a real SIP call between two demo bots
// (placed through the API) turn their tiles from idle to in use, hang it
// up from the tile and see them idle again, open the door, then find the
// call in the CDR browser and open its page.
func TestPanelBrowser(t *testing.T) {
	ctx, problems := browser(t)
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String() + "/"

	step(t, ctx, "open", chromedp.Navigate(base))
	browserLogin(t, ctx)
	step(t, ctx, "tiles",
		chromedp.WaitVisible(`#tile-42[data-state="idle"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="idle"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-2001[data-state="unavailable"]`, chromedp.ByQuery), // no phone registered
	)
	screenshot(t, ctx, "switchboard-idle")

	var call struct {
		ID string `json:"id"`
	}
	if code := apiJSON(t, n, "POST", "/api/v1/calls", `{"from":"42","to":"43"}`, &call); code != http.StatusCreated {
		t.Fatalf("originate: %d", code)
	}
	var peer string
	step(t, ctx, "call shows",
		chromedp.WaitVisible(`#tile-42[data-state="inuse"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="inuse"]`, chromedp.ByQuery),
		// Read in one go: the tile's contents are replaced on every event.
		chromedp.Evaluate(`document.querySelector('#tile-42 .peer')?.textContent ?? ''`, &peer),
	)
	if !strings.Contains(peer, "43") {
		t.Errorf("tile 42 talks to %q, want 43", peer)
	}
	screenshot(t, ctx, "switchboard-call")
	labelled(t, ctx, "switchboard")

	step(t, ctx, "hang up",
		chromedp.Click(`#tile-42`, chromedp.ByQuery),
		chromedp.WaitVisible(`#act-hangup`, chromedp.ByQuery),
	)
	labelled(t, ctx, "switchboard actions")
	step(t, ctx, "hang up click",
		chromedp.Click(`#act-hangup`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-42[data-state="idle"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="idle"]`, chromedp.ByQuery),
	)
	var live []json.RawMessage
	if apiJSON(t, n, "GET", "/api/v1/calls", "", &live); len(live) != 0 {
		t.Errorf("calls after hang up: %s", live)
	}

	step(t, ctx, "door",
		chromedp.WaitVisible(`#camera-44[src^="blob:"]`, chromedp.ByQuery),
		chromedp.Click(`#open-17`, chromedp.ByQuery),
		chromedp.WaitVisible(`//p[@id="sb-status"][contains(., "open Door: done")]`, chromedp.BySearch),
	)
	var audit struct {
		Entries []struct {
			Action, Target string
			Status         int
		} `json:"entries"`
	}
	apiJSON(t, n, "GET", "/api/v1/audit", "", &audit)
	opened := false
	for _, e := range audit.Entries {
		opened = opened || (e.Target == "/api/v1/relays/17" && e.Status == 200)
	}
	if !opened {
		t.Errorf("the audit log has no relay 17 switch: %+v", audit.Entries)
	}

	// A second call, recorded and transferred from the UI: 43's tile
	// records it, then sends its partner (42) to 101.
	var second struct {
		ID string `json:"id"`
	}
	if code := apiJSON(t, n, "POST", "/api/v1/calls", `{"from":"42","to":"43"}`, &second); code != http.StatusCreated {
		t.Fatalf("originate: %d", code)
	}
	step(t, ctx, "record and transfer",
		chromedp.WaitVisible(`#tile-43[data-state="inuse"]`, chromedp.ByQuery),
		chromedp.Click(`#tile-43`, chromedp.ByQuery),
		chromedp.WaitVisible(`#act-record`, chromedp.ByQuery),
		chromedp.Click(`#act-record`, chromedp.ByQuery),
		chromedp.WaitVisible(`//p[@id="sb-status"][contains(., "record: done")]`, chromedp.BySearch),
		chromedp.SendKeys(`#transfer-to`, "101", chromedp.ByQuery),
		chromedp.Click(`#act-transfer`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-101[data-state="inuse"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="idle"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-42[data-state="inuse"]`, chromedp.ByQuery),
	)
	screenshot(t, ctx, "switchboard-transferred")
	step(t, ctx, "hang up the transferred call",
		chromedp.Click(`#tile-101`, chromedp.ByQuery),
		chromedp.WaitVisible(`#act-hangup`, chromedp.ByQuery),
		chromedp.Click(`#act-hangup`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-101[data-state="idle"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-42[data-state="idle"]`, chromedp.ByQuery),
	)

	step(t, ctx, "cdr browser",
		chromedp.Click(`a[href="#/cdrs"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#f-number`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-number`, "42", chromedp.ByQuery),
		chromedp.Click(`#cdr-search`, chromedp.ByQuery),
		chromedp.WaitVisible(fmt.Sprintf(`#cdr-table tbody tr[data-uniqueid=%q]`, call.ID), chromedp.ByQuery),
	)
	screenshot(t, ctx, "cdr-list")
	labelled(t, ctx, "CDR browser")

	// Export CSV saves every matching row.
	matching := stableTotal(t, n, "?number=42", 2)
	downloads := t.TempDir()
	step(t, ctx, "csv export",
		cdpbrowser.SetDownloadBehavior(cdpbrowser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Click(`#cdr-csv`, chromedp.ByQuery),
		chromedp.WaitVisible(`//p[@id="cdr-status"][contains(., "Exported")]`, chromedp.BySearch),
	)
	var csv []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(downloads, "cdrs.csv")); err == nil && len(b) > 0 {
			csv = b
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\r\n")
	if len(lines) != matching+1 || !strings.HasPrefix(lines[0], "id,tenant,calldate,") || !strings.Contains(string(csv), call.ID) {
		t.Errorf("cdrs.csv (%d CDRs match): %q", matching, csv)
	}
	step(t, ctx, "cdr page",
		chromedp.Click(fmt.Sprintf(`#cdr-table tbody tr[data-uniqueid=%q] a`, call.ID), chromedp.ByQuery),
		chromedp.WaitVisible(`#cdr-detail dl.facts`, chromedp.ByQuery),
		chromedp.WaitVisible(`#recordings`, chromedp.ByQuery),
		chromedp.WaitVisible(`#sip-ladder text.host`, chromedp.ByQuery),
	)
	var hosts int
	step(t, ctx, "ladder hosts", chromedp.Evaluate(`document.querySelectorAll('#sip-ladder text.host').length`, &hosts))
	if hosts < 2 {
		t.Errorf("the SIP ladder names %d addresses, want both ends", hosts)
	}
	screenshot(t, ctx, "cdr-page")

	// The recorded call's page plays its recording.
	var playing bool
	var waveCols int
	step(t, ctx, "recording",
		chromedp.Navigate(base+"#/cdrs?number=101"), // the transfer's destination is the CDR's dst
		chromedp.WaitVisible(fmt.Sprintf(`#cdr-table tbody tr[data-uniqueid=%q] a`, second.ID), chromedp.ByQuery),
		chromedp.Click(fmt.Sprintf(`#cdr-table tbody tr[data-uniqueid=%q] a`, second.ID), chromedp.ByQuery),
		// Its legs: 42, 43 (replaced by the transfer) and 101.
		chromedp.WaitVisible(`#legs tr[data-peer="101"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#legs tr[data-peer="43"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//section[@id="legs"]//li[contains(., "transferred to 101")]`, chromedp.BySearch),
		chromedp.WaitVisible(`#recordings audio[src^="blob:"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('#recordings audio').duration > 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.querySelector('#recordings audio').play().then(() => true)`, &playing, awaitPromise),
		chromedp.WaitVisible(`#recordings svg.wave path`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#recordings svg.wave path').getAttribute('d').split('M').length - 1`, &waveCols),
	)
	if !playing {
		t.Error("the recording did not play")
	}
	if waveCols < 100 {
		t.Errorf("the waveform has %d columns", waveCols)
	}
	screenshot(t, ctx, "cdr-recording")

	// Queues: with both agents paused a caller waits; the panel shows the
	// pause reasons and the caller, removes the caller and unpauses an agent.
	for _, agent := range []string{"1001", "1002"} {
		if code := apiJSON(t, n, "POST", "/api/v1/queues/VMX/members/"+agent+"/pause", `{"paused":true,"reason":"lunch"}`, nil); code != 200 {
			t.Fatalf("pause %s: %d", agent, code)
		}
	}
	// A real SIP phone (2001) dials the queue and waits.
	caller := phone(t, n, "2001")
	cctx, stopCaller := context.WithCancel(context.Background())
	var callerDone sync.WaitGroup
	callerDone.Add(1)
	go func() {
		defer callerDone.Done()
		_, _ = caller.Call(cctx, "2001", "7777", 30*time.Second)
	}()
	defer callerDone.Wait()
	defer stopCaller()
	step(t, ctx, "queue",
		chromedp.Click(`a[href="#/queues"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//tr[@data-agent="1001"]/td[contains(., "paused: lunch")]`, chromedp.BySearch),
		chromedp.WaitVisible(`//section[@id="queue-VMX"]//td[starts-with(., "2001 ")]`, chromedp.BySearch),
	)
	screenshot(t, ctx, "queue-waiting")
	labelled(t, ctx, "queues")
	step(t, ctx, "queue actions",
		// Clicked from the page: a queue event may rebuild the table
		// between a query and a click from outside.
		chromedp.Evaluate(`document.querySelector('#queue-VMX button.danger').click()`, nil),
		chromedp.WaitVisible(`//section[@id="queue-VMX"]//p[.="Nobody is waiting."]`, chromedp.BySearch),
		chromedp.Evaluate(`document.querySelector('#queue-VMX tr[data-agent="1001"] button').click()`, nil),
		chromedp.WaitVisible(`#queue-VMX tr[data-agent="1001"] input`, chromedp.ByQuery), // the pause form again
		// Pause 1001 again, with a reason typed in.
		chromedp.Evaluate(`(() => {
			const input = document.querySelector('#queue-VMX tr[data-agent="1001"] input');
			input.value = 'coffee';
			input.dispatchEvent(new Event('input'));
			document.querySelector('#queue-VMX tr[data-agent="1001"] button').click();
		})()`, nil),
		chromedp.WaitVisible(`//tr[@data-agent="1001"]/td[contains(., "paused: coffee")]`, chromedp.BySearch),
	)
	var waiting struct {
		Calls []json.RawMessage `json:"calls"`
	}
	if apiJSON(t, n, "GET", "/api/v1/queues/VMX/calls", "", &waiting); len(waiting.Calls) != 0 {
		t.Errorf("callers after Remove: %s", waiting.Calls)
	}
	var members struct {
		Queues []struct {
			Name    string
			Members []struct {
				Number, Reason string
				Paused         bool
			}
		}
	}
	apiJSON(t, n, "GET", "/api/v1/queues", "", &members)
	for _, q := range members.Queues {
		for _, m := range q.Members {
			if q.Name == "VMX" && (!m.Paused || m.Number == "1001" && m.Reason != "coffee") {
				t.Errorf("VMX member %s paused=%v reason %q after the panel unpaused 1001 and paused it for coffee", m.Number, m.Paused, m.Reason)
			}
		}
	}

	// The dashboard counts what the API has once the queue caller's CDR is in.
	stopCaller()
	callerDone.Wait()
	total := stableTotal(t, n, "", 3)
	var calls string
	step(t, ctx, "dashboard",
		chromedp.Click(`a[href="#/dashboard"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#chart-hourly rect`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#kpi-calls strong').textContent`, &calls),
	)
	if calls != fmt.Sprint(total) { // every CDR of this test is within the last hour
		t.Errorf("dashboard counts %q calls, want %d", calls, total)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
	screenshot(t, ctx, "dashboard")

	// The modules' pure functions, run in the browser that runs them.
	var got string
	step(t, ctx, "module functions", chromedp.Evaluate(`(async () => {
		const base = document.querySelector('script[type="module"]').src.replace(/app\.js$/, '');
		const c = await import(base + 'cdrs.js');
		const d = await import(base + 'dashboard.js');
		const now = Date.parse('2026-01-02T12:00:00Z');
		const s = d.summarize([
			{ calldate: '2026-01-02T11:30:00Z', disposition: 'ANSWERED', billsec: 60, mos: 4.2 },
			{ calldate: '2026-01-02T11:40:00Z', disposition: 'ANSWERED', billsec: 30, mos: 3.1 },
			{ calldate: '2026-01-02T10:10:00Z', disposition: 'BUSY', billsec: 0, mos: 0 },
			{ calldate: '2025-12-30T10:10:00Z', disposition: 'ANSWERED', billsec: 999, mos: 1 },
		], now);
		const wav = new ArrayBuffer(52), v = new DataView(wav);
		const put = (o, str) => [...str].forEach((ch, i) => v.setUint8(o + i, ch.charCodeAt(0)));
		put(0, 'RIFF'); v.setUint32(4, 44, true); put(8, 'WAVE'); put(12, 'fmt '); v.setUint32(16, 16, true);
		v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, 8000, true); v.setUint32(28, 16000, true);
		v.setUint16(32, 2, true); v.setUint16(34, 16, true); put(36, 'data'); v.setUint32(40, 8, true);
		[0, 16384, -32768, 32767].forEach((x, i) => v.setInt16(44 + i * 2, x, true));
		// The live model: events that arrive while a snapshot loads are
		// applied after it; a hangup removes the leg.
		const sb = await import(base + 'switchboard.js');
		const m = new sb.Model();
		m.loading = true;
		m.apply({ type: 'extension.state', extension: { number: '42', state: 1 } });
		m.apply({ type: 'channel.new', channel: { uniqueid: 'a', call_id: 'c1', peer: '42', trunk: false, state: 'up' } });
		m.apply({ type: 'channel.new', channel: { uniqueid: 'b', call_id: 'c1', peer: '43', trunk: false, state: 'up' } });
		m.load([{ number: '42', state: 0 }, { number: '43', state: 0 }], []);
		const during = [m.exts.get('42').state, m.legOf('42')?.other?.peer, m.legOf('43')?.other?.peer];
		m.apply({ type: 'channel.hangup', channel: { uniqueid: 'b', call_id: 'c1', peer: '43' } });
		m.apply({ type: 'call.ended', call: { id: 'c1' } });
		const after = [m.legOf('42'), m.calls.size, sb.stateOf({ state: 16 })[0], sb.stateOf({ state: 99, registered: false })[0]];
		return JSON.stringify({
			model: [during, after],
			peaks: c.peaks(wav, 2), bad: c.peaks(new ArrayBuffer(7), 2),
			csv: c.toCSV([{ a: '=1+2', b: 'x,"y"' }]),
			query: c.apiQuery({ to: '2026-12-31', number: ' 42 ', disposition: '' }).toString(),
			total: s.total, asr: s.asr, acd: s.acd, last: s.buckets[23].answered, prev: s.buckets[22].other, mos: s.mos,
		});
	})()`, &got, awaitPromise))
	want := `{"model":[[1,"43","42"],[null,0,"hold","unavailable"]],"peaks":[[0,0.5],[-1,0.999969482421875]],"bad":[],"csv":"a,b\r\n'=1+2,\"x,\"\"y\"\"\"\r\n","query":"to=2027-01-01&number=42","total":3,"asr":0.6666666666666666,"acd":45,"last":2,"prev":1,"mos":[0,0,1,0,1]}`
	if got != want {
		t.Errorf("module functions:\n got %s\nwant %s", got, want)
	}

	if p := problems(); len(p) > 0 {
		t.Fatalf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestPanelBrowserRights: a user (12/demo, role user) sees no CDR view
// and no spy action, and a hand-typed URL of a view it may not use says
// so instead of failing.
func TestPanelBrowserRights(t *testing.T) {
	ctx, problems := browser(t)
	n := startDemo(t)
	var cdrHidden, spy bool
	step(t, ctx, "user login",
		chromedp.Navigate("http://"+n.HTTPAddr().String()+"/"),
		chromedp.WaitVisible(`#login-user`, chromedp.ByQuery),
		chromedp.SendKeys(`#login-user`, "12", chromedp.ByQuery),
		chromedp.SendKeys(`#login-password`, "demo"+kb.Enter, chromedp.ByQuery), // the keyboard alone logs in
		chromedp.WaitVisible(`#tile-13[data-state="idle"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('a[href="#/cdrs"]').hidden`, &cdrHidden),
		chromedp.Focus(`#tile-13`, chromedp.ByQuery),
		chromedp.KeyEvent(kb.Enter), // tiles are buttons: Enter opens the actions
		chromedp.WaitVisible(`#act-call`, chromedp.ByQuery),
		chromedp.Evaluate(`!!document.querySelector('#act-spy')`, &spy),
	)
	if !cdrHidden || spy {
		t.Errorf("user 12 sees the CDR link (%v) or the spy action (%v)", !cdrHidden, spy)
	}
	var my string
	step(t, ctx, "own extension", chromedp.Value(`#my-ext`, &my, chromedp.ByQuery))
	if my != "12" {
		t.Errorf("my extension %q, want the user's own 12", my)
	}
	step(t, ctx, "refused view",
		chromedp.Navigate("http://"+n.HTTPAddr().String()+"/#/cdrs"),
		chromedp.WaitVisible(`//main[@id="view"]/p[contains(., "may not open this view")]`, chromedp.BySearch),
	)
	screenshot(t, ctx, "user-refused-view")
	if p := problems(); len(p) > 0 {
		t.Fatalf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// cutProxy forwards TCP to a node and can drop every connection at once
// and refuse new ones, as a laptop going to sleep does.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.cut()
	}
}

// TestPanelBrowserReplay: the connection drops (the laptop sleeps), a call
// starts meanwhile, and when the network is back the panel reconnects
// with since=N and shows the call from the replayed events.
func TestPanelBrowserReplay(t *testing.T) {
	ctx, problems := browser(t)
	n := startDemo(t)
	proxy := newCutProxy(t, n.HTTPAddr().String())
	var mu sync.Mutex
	var wsURLs []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventWebSocketCreated); ok {
			mu.Lock()
			wsURLs = append(wsURLs, e.URL)
			mu.Unlock()
		}
	})
	step(t, ctx, "open", network.Enable(), chromedp.Navigate("http://"+proxy.ln.Addr().String()+"/"))
	browserLogin(t, ctx)
	step(t, ctx, "tiles", chromedp.WaitVisible(`#tile-42[data-state="idle"]`, chromedp.ByQuery))
	// An event so the page has a sequence number to resume from.
	var first struct{ ID string }
	if code := apiJSON(t, n, "POST", "/api/v1/calls", `{"from":"12","to":"13"}`, &first); code != http.StatusCreated {
		t.Fatalf("originate: %d", code)
	}
	step(t, ctx, "first call", chromedp.WaitVisible(`#tile-12[data-state="inuse"]`, chromedp.ByQuery))
	if code := apiJSON(t, n, "DELETE", "/api/v1/calls/"+first.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("hang up: %d", code)
	}
	step(t, ctx, "first call ends", chromedp.WaitVisible(`#tile-12[data-state="idle"]`, chromedp.ByQuery))

	proxy.setDown(true)
	step(t, ctx, "offline", chromedp.WaitVisible(`#conn-state[data-state="reconnecting"]`, chromedp.ByQuery))
	if code := apiJSON(t, n, "POST", "/api/v1/calls", `{"from":"42","to":"43"}`, nil); code != http.StatusCreated {
		t.Fatalf("originate: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var x struct{ State int }
		apiJSON(t, n, "GET", "/api/v1/extensions/42", "", &x)
		if x.State == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the call did not connect while the panel was offline")
		}
		time.Sleep(100 * time.Millisecond)
	}
	proxy.setDown(false)
	step(t, ctx, "back online",
		chromedp.WaitVisible(`#conn-state[data-state="live"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-42[data-state="inuse"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="inuse"]`, chromedp.ByQuery),
	)
	mu.Lock()
	urls := append([]string(nil), wsURLs...)
	mu.Unlock()
	if len(urls) < 2 || !strings.Contains(urls[len(urls)-1], "since=") {
		t.Errorf("the reconnect did not resume with since=N: %q", urls)
	}
	if p := problems(); len(p) > 0 {
		// A dropped connection logs failed reconnect attempts: those are
		// expected here; anything else is not.
		var other []string
		for _, s := range p {
			if !strings.Contains(s, "ERR_CONNECTION") && !strings.Contains(s, "WebSocket") && !strings.Contains(s, "ERR_EMPTY_RESPONSE") {
				other = append(other, s)
			}
		}
		if len(other) > 0 {
			t.Fatalf("browser reported problems:\n%s", strings.Join(other, "\n"))
		}
	}
}
