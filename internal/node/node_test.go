package node

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/demobot"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var lo = netip.MustParseAddr("127.0.0.1")

// startDemo runs the demo directory in-process on random loopback ports.
func startDemo(t *testing.T) *Node {
	t.Helper()
	return startDemoWith(t, Options{})
}

func startDemoWith(t *testing.T, opts Options, change ...func(*config.Config)) *Node {
	t.Helper()
	cfg := config.Demo()
	for _, f := range change {
		f(cfg)
	}
	cfg.Listen.HTTP = "127.0.0.1:0"
	cfg.Listen.SIP = "127.0.0.1:0"
	cfg.RTP.PortMin, cfg.RTP.PortMax = 21000, 22998
	cfg.SetDataDir(t.TempDir())
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts.Logger, opts.DemoAnswerDelay, opts.PSTNNoAnswerAfter = log, 300*time.Millisecond, 500*time.Millisecond
	n, err := Start(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

// phone registers extension 2001 as a test phone (an auto-answer bot farm
// of our own, speaking real SIP to the node).
func phone(t *testing.T, n *Node, numbers ...string) *demobot.Farm {
	t.Helper()
	ports, err := media.NewPortAllocator(lo, 23000, 23998, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := demobot.NewFarm(demobot.FarmConfig{PBX: n.SIPAddr(), Domain: "mojacentrala.local", ListenIP: lo, Ports: ports,
		AnswerDelay: 200 * time.Millisecond, ToneHz: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, num := range numbers {
		f.Add(num, "demo")
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestDemoBotsRegisterAndAnswer(t *testing.T) {
	n := startDemo(t)
	x, err := n.Core().Extension("MojaCentrala", "1001")
	if err != nil || !x.Registered || x.State != pbx.StateIdle {
		t.Fatalf("bot 1001: %+v %v", x, err)
	}
	p := phone(t, n, "2001")
	sub := n.Core().Subscribe("MojaCentrala", 1000)
	defer sub.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := p.CallWith(ctx, "2001", "1001", 1500*time.Millisecond, demobot.CallOptions{SendDigits: "42#"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Answered || res.Frequency != 440 || res.Packets < 20 {
		t.Fatalf("call 2001 -> 1001: %+v", res)
	}
	cdr := waitCallEnded(t, sub)
	if cdr.Disposition != pbx.DispAnswered || cdr.Src != "2001" || cdr.Dst != "1001" || cdr.Codec != "PCMU" ||
		cdr.RTPPacketsAB < 20 || cdr.RTPPacketsBA < 20 || cdr.MOS < 4 || cdr.BillSec < 1 || cdr.CallID == "" {
		t.Fatalf("cdr: %+v", cdr)
	}
	for _, tc := range []struct {
		to     string
		status int
		disp   pbx.Disposition
	}{{"555486", 486, pbx.DispBusy}, {"555404", 404, pbx.DispFailed}, {"555480", 480, pbx.DispFailed}, {"555408", 408, pbx.DispNoAnswer}} {
		res, err := p.Call(ctx, "2001", tc.to, time.Second)
		if err != nil || res.Status != tc.status {
			t.Fatalf("call %s: %+v %v", tc.to, res, err)
		}
		if c := waitCallEnded(t, sub); c.Disposition != tc.disp || c.Dst != tc.to {
			t.Fatalf("cdr for %s: %+v", tc.to, c)
		}
	}
	// The carrier answers other numbers with its own tone.
	res, err = p.Call(ctx, "2001", "0421900123456", time.Second)
	if err != nil || !res.Answered || res.Frequency != 425 {
		t.Fatalf("carrier call: %+v %v", res, err)
	}
	waitCallEnded(t, sub)
}

func waitCallEnded(t *testing.T, sub *eventbus.Subscription[pbx.Event]) pbx.CDR {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e, ok := <-sub.C():
			if !ok {
				t.Fatalf("subscription ended: %v", sub.Err())
			}
			if e.Event.Type == pbx.EvCallEnded {
				return *e.Event.CDR
			}
		case <-timeout:
			t.Fatal("no call.ended event")
		}
	}
}

func apiGet(t *testing.T, n *Node, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr().String()+path, nil)
	req.Header.Set("Authorization", "Bearer MyExampleKey")
	return roundTrip(t, req)
}

func TestDemoTrafficLeavesCDRs(t *testing.T) {
	n := startDemoWith(t, Options{DemoTraffic: 600, DemoHoldMin: time.Second, DemoHoldMax: 2 * time.Second}) // one call every 100 ms
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, body := apiGet(t, n, "/api/v1/cdrs?disposition=ANSWERED")
		var page struct {
			Total int `json:"total"`
		}
		if st == 200 && json.Unmarshal([]byte(body), &page) == nil && page.Total > 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("demo traffic produced no answered CDR within 20 s")
}

// roundTrip sends req and returns the answer's status and body.
func roundTrip(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
