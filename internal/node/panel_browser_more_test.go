package node

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestPanelBrowserAdminLink: a VoIPmonitor GUI link,
// admin.php?cdr_filter={fcaller:'2001'} in the spec's object syntax, opened
// in the browser lands (after the panel's login) in the CDR browser
// showing exactly the calls of 2001: a real SIP call from phone 2001 is
// listed, a call between two bots is not.
func TestPanelBrowserAdminLink(t *testing.T) {
	ctx, problems := browser(t)
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String() + "/"

	p := phone(t, n, "2001")
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res, err := p.Call(cctx, "2001", "42", time.Second); err != nil || !res.Answered {
		t.Fatalf("call from 2001: %+v %v", res, err)
	}
	var other struct {
		ID string `json:"id"`
	}
	if code := apiJSON(t, n, "POST", "/api/v1/calls", `{"from":"42","to":"43"}`, &other); code != http.StatusCreated {
		t.Fatalf("originate: %d", code)
	}
	time.Sleep(time.Second)
	if code := apiJSON(t, n, "DELETE", "/api/v1/calls/"+other.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("hang up: %d", code)
	}
	want := stableTotal(t, n, "?number=2001", 1)
	stableTotal(t, n, "?number=42", 2)

	var href, number string
	step(t, ctx, "open the link",
		chromedp.Navigate(base+`admin.php?cdr_filter={fcaller:'2001'}`),
		chromedp.WaitVisible(`#login-user`, chromedp.ByQuery),
		chromedp.Location(&href),
	)
	if !strings.HasSuffix(href, "/#/cdrs?number=2001") {
		t.Errorf("the link opened %s, want the panel's #/cdrs?number=2001", href)
	}
	browserLogin(t, ctx)
	var rows []struct{ UniqueID, Src, Dst string }
	step(t, ctx, "filtered list",
		chromedp.WaitVisible(`#cdr-table tbody tr`, chromedp.ByQuery),
		chromedp.Value(`#f-number`, &number, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#cdr-table tbody tr')].map((tr) => ({
			uniqueid: tr.dataset.uniqueid, src: tr.cells[2].textContent, dst: tr.cells[3].textContent }))`, &rows),
	)
	screenshot(t, ctx, "admin-link")
	if number != "2001" {
		t.Errorf("the number filter shows %q, want 2001", number)
	}
	if len(rows) != want {
		t.Errorf("%d rows, want the %d CDRs of 2001: %+v", len(rows), want, rows)
	}
	for _, r := range rows {
		if r.Src != "2001" && r.Dst != "2001" || r.UniqueID == other.ID {
			t.Errorf("row %+v does not match fcaller 2001", r)
		}
	}

	// The spec's own example: a link by SIP Call-ID (the session is the
	// tab's now, so the list opens at once).
	var cdrs struct {
		CDRs []struct {
			UniqueID string `json:"uniqueid"`
			CallID   string `json:"callid"`
		} `json:"cdrs"`
	}
	apiJSON(t, n, "GET", "/api/v1/cdrs?number=2001", "", &cdrs)
	if len(cdrs.CDRs) == 0 || cdrs.CDRs[0].CallID == "" {
		t.Fatalf("2001's CDR has no Call-ID: %+v", cdrs)
	}
	var shown []string
	step(t, ctx, "open a Call-ID link",
		chromedp.Navigate(base+`admin.php?cdr_filter={fcallid:"`+cdrs.CDRs[0].CallID+`"}`),
		chromedp.WaitVisible(`#cdr-table tbody tr`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#cdr-table tbody tr')].map((tr) => tr.dataset.uniqueid)`, &shown),
	)
	if len(shown) != 1 || shown[0] != cdrs.CDRs[0].UniqueID {
		t.Errorf("the Call-ID link shows %v, want only %s", shown, cdrs.CDRs[0].UniqueID)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// mouseDrag drags the element matching one selector onto the one
// matching another with the mouse, as a user would. Chromium's drag is
// intercepted (Input.setInterceptDrags): the press and move start a real
// drag (the page's dragstart fills its DataTransfer), and its data is
// then carried over the target with Input.dispatchDragEvent (dragenter,
// dragover, drop), so drop fires only where the page accepted the
// dragover, as in a headed browser.
func mouseDrag(from, to string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		center := func(sel string) (x, y float64, err error) {
			var c []float64
			err = chromedp.Evaluate(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.scrollIntoView({ block: 'center' });
				const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, sel), &c).Do(ctx)
			if err == nil && len(c) != 2 {
				err = fmt.Errorf("%s: no position", sel)
			}
			if err != nil {
				return 0, 0, err
			}
			return c[0], c[1], nil
		}
		fx, fy, err := center(from)
		if err != nil {
			return err
		}
		got := make(chan *input.DragData, 1)
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		chromedp.ListenTarget(lctx, func(ev any) {
			if e, ok := ev.(*input.EventDragIntercepted); ok {
				select {
				case got <- e.Data:
				default:
				}
			}
		})
		if err := input.SetInterceptDrags(true).Do(ctx); err != nil {
			return err
		}
		defer func() { _ = input.SetInterceptDrags(false).Do(ctx) }()
		for _, a := range []*input.DispatchMouseEventParams{
			input.DispatchMouseEvent(input.MouseMoved, fx, fy),
			input.DispatchMouseEvent(input.MousePressed, fx, fy).WithButton(input.Left).WithButtons(1).WithClickCount(1),
			input.DispatchMouseEvent(input.MouseMoved, fx+8, fy+8).WithButton(input.Left).WithButtons(1),
			input.DispatchMouseEvent(input.MouseMoved, fx+20, fy+20).WithButton(input.Left).WithButtons(1),
		} {
			if err := a.Do(ctx); err != nil {
				return err
			}
		}
		var data *input.DragData
		select {
		case data = <-got:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("drag from %s: the browser started no drag", from)
		}
		tx, ty, err := center(to)
		if err != nil {
			return err
		}
		for _, typ := range []input.DispatchDragEventType{input.DragEnter, input.DragOver, input.Drop} {
			if err := input.DispatchDragEvent(typ, tx, ty, data).Do(ctx); err != nil {
				return err
			}
		}
		return input.DispatchMouseEvent(input.MouseReleased, tx, ty).WithButton(input.Left).WithClickCount(1).Do(ctx)
	})
}

// dragJS drags the element matching one selector onto the one matching
// another with the HTML5 drag and drop events a browser fires
// (dragstart, dragenter, dragover, drop, dragend), dispatched from the
// page. It reports whether the target accepted the drop (cancelled its
// dragover): what mouseDrag cannot show, a drop that did not happen.
func dragJS(from, to string) string {
	return fmt.Sprintf(`(() => {
		const src = document.querySelector(%q), dst = document.querySelector(%q);
		if (!src || !dst) return false;
		const dt = new DataTransfer();
		const ev = (type) => new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt });
		src.dispatchEvent(ev('dragstart'));
		dst.dispatchEvent(ev('dragenter'));
		const accepted = !dst.dispatchEvent(ev('dragover'));
		dst.dispatchEvent(ev('drop'));
		src.dispatchEvent(ev('dragend'));
		return accepted;
	})()`, from, to)
}

// TestPanelBrowserDrag: in the switchboard a tile dragged with the mouse
// onto another calls (42 onto 43: a call from 42 to 43) or, in a call,
// transfers (43 onto 101: 42 now talks to 101), and is no drop target
// for itself; in the queues view two real SIP phones
// wait and the second, dragged onto the first, moves to position 1. Once
// agents answer them, the dashboard shows the queue's service level as
// the API computes it.
func TestPanelBrowserDrag(t *testing.T) {
	ctx, problems := browser(t)
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String() + "/"
	step(t, ctx, "open", chromedp.Navigate(base))
	browserLogin(t, ctx)

	var accepted bool
	step(t, ctx, "drag 42 onto 43",
		chromedp.WaitVisible(`#tile-42[data-state="idle"][draggable="true"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="idle"]`, chromedp.ByQuery),
		mouseDrag("#tile-42", "#tile-43"),
		chromedp.WaitVisible(`#tile-42[data-state="inuse"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="inuse"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//p[@id="sb-status"][contains(., "call 42 → 43: done")]`, chromedp.BySearch),
	)
	var calls []struct{ ID, From, To string }
	if apiJSON(t, n, "GET", "/api/v1/calls", "", &calls); len(calls) != 1 || calls[0].From != "42" || calls[0].To != "43" {
		t.Fatalf("calls after the drag: %+v, want one from 42 to 43", calls)
	}
	// A tile cannot be dropped on itself.
	step(t, ctx, "drag onto itself", chromedp.Evaluate(dragJS("#tile-43", "#tile-43"), &accepted))
	if accepted {
		t.Error("tile 43 accepted itself")
	}
	step(t, ctx, "drag 43 onto 101",
		mouseDrag("#tile-43", "#tile-101"),
		chromedp.WaitVisible(`#tile-101[data-state="inuse"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-43[data-state="idle"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tile-42[data-state="inuse"]`, chromedp.ByQuery),
	)
	screenshot(t, ctx, "drag-transferred")
	var peer string
	step(t, ctx, "42 talks to 101", chromedp.Evaluate(`document.querySelector('#tile-42 .peer')?.textContent ?? ''`, &peer))
	if !strings.Contains(peer, "101") {
		t.Errorf("after the drag 42 talks to %q, want 101", peer)
	}
	if code := apiJSON(t, n, "DELETE", "/api/v1/calls/"+calls[0].ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("hang up: %d", code)
	}

	// Queues: both agents paused, 2001 then 2002 wait.
	for _, agent := range []string{"1001", "1002"} {
		if code := apiJSON(t, n, "POST", "/api/v1/queues/VMX/members/"+agent+"/pause", `{"paused":true}`, nil); code != 200 {
			t.Fatalf("pause %s: %d", agent, code)
		}
	}
	phones := phone(t, n, "2001", "2002")
	cctx, stop := context.WithCancel(context.Background())
	var done sync.WaitGroup
	answered := make(chan bool, 2)
	dial := func(from string) {
		done.Add(1)
		go func() {
			defer done.Done()
			res, _ := phones.Call(cctx, from, "7777", 2*time.Second)
			answered <- res.Answered
		}()
	}
	defer done.Wait()
	defer stop()
	dial("2001")
	step(t, ctx, "first caller waits",
		chromedp.Click(`a[href="#/queues"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//section[@id="queue-VMX"]//tr[@draggable="true"]/td[starts-with(., "2001")]`, chromedp.BySearch),
	)
	dial("2002")
	var first string
	step(t, ctx, "drag 2002 onto 2001",
		chromedp.WaitVisible(`//section[@id="queue-VMX"]//tr[td[1]="2"]/td[starts-with(., "2002")]`, chromedp.BySearch),
		mouseDrag(`#queue-VMX tr[data-position="2"]`, `#queue-VMX tr[data-position="1"]`),
		chromedp.WaitVisible(`//section[@id="queue-VMX"]//tr[td[1]="1"]/td[starts-with(., "2002")]`, chromedp.BySearch),
		chromedp.Evaluate(`document.querySelector('#queue-VMX tr[data-position="2"] td:nth-child(2)')?.textContent ?? ''`, &first),
	)
	screenshot(t, ctx, "drag-queue")
	if !strings.HasPrefix(first, "2001") {
		t.Errorf("position 2 is %q, want 2001", first)
	}
	var waiting struct {
		Calls []struct {
			Position    int
			CallerIDNum string `json:"callerid_num"`
		}
	}
	if apiJSON(t, n, "GET", "/api/v1/queues/VMX/calls", "", &waiting); len(waiting.Calls) != 2 || waiting.Calls[0].CallerIDNum != "2002" || waiting.Calls[0].Position != 1 {
		t.Errorf("the queue after the drag: %+v, want 2002 first", waiting.Calls)
	}

	// The agents answer both; the dashboard shows VMX's service level.
	for _, agent := range []string{"1001", "1002"} {
		if code := apiJSON(t, n, "POST", "/api/v1/queues/VMX/members/"+agent+"/pause", `{"paused":false}`, nil); code != 200 {
			t.Fatalf("unpause %s: %d", agent, code)
		}
	}
	for range 2 {
		if !<-answered {
			t.Fatal("a queue caller was not answered")
		}
	}
	today := time.Now().UTC().Format("2006-01-02")
	type stats struct {
		Queues []struct {
			Queue           string
			Offered         int
			Answered        int
			ServiceLevelPct float64 `json:"service_level_pct"`
		}
	}
	var st stats
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		st = stats{}
		apiJSON(t, n, "GET", "/api/v1/queues/stats?service_level=20&from="+today, "", &st)
		if len(st.Queues) == 1 && st.Queues[0].Answered == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue stats: %+v, want VMX with 2 answered", st)
		}
	}
	var pct, text string
	step(t, ctx, "dashboard",
		chromedp.Click(`a[href="#/dashboard"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#chart-sl g[data-queue="VMX"] rect.s0`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#chart-sl g[data-queue="VMX"]').dataset.pct`, &pct),
		chromedp.Evaluate(`document.querySelector('#chart-sl g[data-queue="VMX"] text:last-of-type').textContent`, &text),
	)
	screenshot(t, ctx, "dashboard-service-level")
	q := st.Queues[0]
	if q.Queue != "VMX" || q.ServiceLevelPct != 100 || pct != fmt.Sprint(q.ServiceLevelPct) || text != fmt.Sprintf("100 %% of %d offered", q.Offered) {
		t.Errorf("dashboard VMX: %s %q; API %+v", pct, text, q)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestPanelBrowserQualityChart: a real call between two demo bots carries
// audio for about 11 s; its CDR (GET /cdrs/{id}) has both streams' quality
// series, a point per 5 s, and the panel's call page draws them as the
// MOS, loss and jitter charts with a line per stream and lists every
// point.
func TestPanelBrowserQualityChart(t *testing.T) {
	ctx, problems := browser(t)
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String() + "/"
	var call struct {
		ID string `json:"id"`
	}
	if code := apiJSON(t, n, "POST", "/api/v1/calls", `{"from":"42","to":"43"}`, &call); code != http.StatusCreated {
		t.Fatalf("originate: %d", code)
	}
	time.Sleep(12 * time.Second)
	if code := apiJSON(t, n, "DELETE", "/api/v1/calls/"+call.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("hang up: %d", code)
	}
	stableTotal(t, n, "?number=42", 1)
	var list struct {
		CDRs []struct {
			ID       int64  `json:"id"`
			UniqueID string `json:"uniqueid"`
		} `json:"cdrs"`
	}
	apiJSON(t, n, "GET", "/api/v1/cdrs?number=42", "", &list)
	var id int64
	for _, c := range list.CDRs {
		if c.UniqueID == call.ID {
			id = c.ID
		}
	}
	if id == 0 {
		t.Fatalf("no CDR of call %s in %+v", call.ID, list.CDRs)
	}
	type point struct {
		Packets int64   `json:"packets"`
		Lost    int64   `json:"lost"`
		MOS     float64 `json:"mos"`
	}
	var cdr struct {
		Series *struct{ A, B []point } `json:"quality_series"`
	}
	apiJSON(t, n, "GET", fmt.Sprintf("/api/v1/cdrs/%d", id), "", &cdr)
	if cdr.Series == nil || len(cdr.Series.A) < 1 || len(cdr.Series.B) < 1 || len(cdr.Series.A) > 3 {
		t.Fatalf("quality_series %+v: want 1-3 points per stream for ~11 s of audio", cdr.Series)
	}
	for _, p := range append(cdr.Series.A, cdr.Series.B...) {
		if p.Packets < 150 || p.MOS < 4 {
			t.Fatalf("point %+v: want about 250 packets of clean audio per 5 s", p)
		}
	}
	var charts, linesA, linesB, rows int
	step(t, ctx, "open the call page",
		chromedp.Navigate(fmt.Sprintf("%s#/cdrs/%d", base, id)),
	)
	browserLogin(t, ctx)
	step(t, ctx, "quality charts",
		chromedp.WaitVisible(`#quality-over-time svg.qchart polyline.a`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#quality-over-time svg.qchart').length`, &charts),
		chromedp.Evaluate(`document.querySelectorAll('#quality-over-time svg.qchart polyline.a').length`, &linesA),
		chromedp.Evaluate(`document.querySelectorAll('#quality-over-time svg.qchart polyline.b').length`, &linesB),
		chromedp.Evaluate(`document.querySelectorAll('#quality-over-time table.qpoints tbody tr').length`, &rows),
	)
	screenshot(t, ctx, "quality-chart")
	if charts != 3 || linesA != 3 || linesB != 3 {
		t.Errorf("%d charts with %d caller and %d callee lines, want 3 of each", charts, linesA, linesB)
	}
	if want := len(cdr.Series.A) + len(cdr.Series.B); rows != want {
		t.Errorf("the points table has %d rows, want %d", rows, want)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}
