package node

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

const demoTenant = "MojaCentrala"

// webtapiClient replays WebTAPI requests against a node.
type webtapiClient struct {
	t    *testing.T
	n    *Node
	base string
	mu   sync.Mutex
	done map[string]bool // spec examples replayed
}

func newWebTAPIClient(t *testing.T, n *Node) *webtapiClient {
	return &webtapiClient{t: t, n: n, base: "http://" + n.HTTPAddr().String() + "/webtapi/webtapi.php", done: map[string]bool{}}
}

// login POSTs AUTH[user] and AUTH[pass] as a PHP client does.
func (w *webtapiClient) login(user, pass string) string {
	w.t.Helper()
	res, err := http.PostForm(w.base+"?action=login", url.Values{"AUTH[user]": {user}, "AUTH[pass]": {pass}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(b) == "0" || len(b) < 32 {
		w.t.Fatalf("login %s: %d %q", user, res.StatusCode, b)
	}
	return string(b)
}

var specSID = regexp.MustCompile(`SID=[0-9a-f]{32}`)

// example is a spec example rewritten for this node: its host and port,
// the session id, and the channel names of calls that are live now (the
// spec's are of its own calls). Nothing else changes.
func (w *webtapiClient) example(example, sid string, subs ...string) string {
	w.t.Helper()
	const specBase = "http://192.168.1.1:9998/webtapi/webtapi.php"
	if !strings.HasPrefix(example, specBase+"?") {
		w.t.Fatalf("not a spec example: %s", example)
	}
	w.mu.Lock()
	w.done[example] = true
	w.mu.Unlock()
	q := specSID.ReplaceAllLiteralString(strings.TrimPrefix(example, specBase+"?"), "SID="+url.QueryEscape(sid))
	for i := 0; i+1 < len(subs); i += 2 {
		if !strings.Contains(q, subs[i]) {
			w.t.Fatalf("%s has no %s", example, subs[i])
		}
		q = strings.Replace(q, subs[i], subs[i+1], 1)
	}
	return w.base + "?" + q
}

// get sends a GET and returns the body and the response.
func (w *webtapiClient) get(u string) (string, *http.Response) {
	w.t.Helper()
	res, err := http.Get(u)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b), res
}

// replay sends a spec example and wants the reply want ("" = any).
func (w *webtapiClient) replay(example, sid, want string, subs ...string) string {
	w.t.Helper()
	body, res := w.get(w.example(example, sid, subs...))
	if res.StatusCode != 200 || (want != "" && body != want) || body == "0" {
		w.t.Fatalf("%s: %d %q (%s), want %q", example, res.StatusCode, body, res.Header.Get("X-Webtapi-Error"), want)
	}
	return body
}

// action sends one of our own requests (the spec has no example for it).
func (w *webtapiClient) action(sid, query string) string {
	w.t.Helper()
	body, _ := w.get(w.base + "?" + query + "&SID=" + url.QueryEscape(sid))
	return body
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveCall is the demo's live call with an answered channel of every one
// of exts, if there is one.
func liveCall(n *Node, exts ...string) (pbx.Call, bool) {
	calls, _ := n.Core().Calls(demoTenant)
	for _, c := range calls {
		ok := true
		for _, x := range exts {
			if !slices.ContainsFunc(c.Channels, func(ch pbx.Channel) bool { return ch.Exten == x && ch.State == pbx.ChanUp }) {
				ok = false
			}
		}
		if ok {
			return c, true
		}
	}
	return pbx.Call{}, false
}

func waitCall(t *testing.T, n *Node, exts ...string) pbx.Call {
	t.Helper()
	var c pbx.Call
	waitFor(t, "a call of "+strings.Join(exts, " and "), func() bool {
		var ok bool
		c, ok = liveCall(n, exts...)
		return ok
	})
	return c
}

// channelOf is ext's channel in call c.
func channelOf(t *testing.T, c pbx.Call, ext string) string {
	t.Helper()
	for _, ch := range c.Channels {
		if ch.Exten == ext {
			return ch.Name
		}
	}
	t.Fatalf("no channel of %s in %+v", ext, c)
	return ""
}

// clearCalls hangs up every live call and waits until none is left.
func clearCalls(t *testing.T, n *Node) {
	t.Helper()
	calls, _ := n.Core().Calls(demoTenant)
	for _, c := range calls {
		_ = n.Core().Hangup(context.Background(), demoTenant, c.ID)
	}
	waitFor(t, "no calls", func() bool {
		calls, _ := n.Core().Calls(demoTenant)
		return len(calls) == 0
	})
}

// TestWebTAPIConformance replays every request example of the spec
// (testdata/spec/requests.txt of the dialect, copied verbatim), changing
// only host, port, SID and the channel names of calls live now, against
// the demo, and checks each reply and its effect on the PBX: calls ring
// and connect the demo's bots, recordings download as WAV files holding
// the bots' tone, the relay switches, the camera gives complete JPEGs.
func TestWebTAPIConformance(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		// A supervisor with a phone of its own, for call_prio (users may
		// not break other calls, admin has no extension to ring).
		c.Tenant(demoTenant).Users = append(c.Tenant(demoTenant).Users,
			config.User{Name: "chef", Password: "chef-pass-123", Role: "supervisor", Extension: "2002"})
	})
	farm := phone(t, n, "2001", "2002")
	var dmu sync.Mutex
	var digits []string
	farm.OnDTMF(func(bot string, d rune) {
		dmu.Lock()
		digits = append(digits, bot+":"+string(d))
		dmu.Unlock()
	})
	raw, err := os.ReadFile("../dialect/webtapi/testdata/spec/requests.txt")
	if err != nil {
		t.Fatal(err)
	}
	examples := strings.Split(strings.TrimSpace(string(raw)), "\n")
	ex := func(action string, more ...string) string {
		t.Helper()
		for _, e := range examples {
			if strings.Contains(e, "action="+action+"&") || strings.HasSuffix(e, "action="+action) {
				ok := true
				for _, m := range more {
					ok = ok && strings.Contains(e, m)
				}
				if ok {
					return e
				}
			}
		}
		t.Fatalf("no example of %s %v", action, more)
		return ""
	}
	w := newWebTAPIClient(t, n)
	admin := w.login("admin", "admin")
	u1004 := w.login("1004", "demo")
	u2001 := w.login("2001", "demo")
	chef := w.login("chef", "chef-pass-123")

	t.Run("call", func(t *testing.T) {
		for _, e := range examples[:2] { // the general example and call's own
			w.replay(e, u1004, "1")
			c := waitCall(t, n, "1004", "1001")
			if c.From != "1004" || c.To != "1001" || !c.Originated {
				t.Fatalf("call %+v", c)
			}
			clearCalls(t, n)
		}
	})

	t.Run("call_list and call_list_all", func(t *testing.T) {
		w.replay(examples[0], u1004, "1")
		c := waitCall(t, n, "1004", "1001")
		mine := w.replay(ex("call_list"), u1004, "")
		all := w.replay(ex("call_list_all"), admin, "")
		for _, body := range []string{mine, all} {
			lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines: %q", len(lines), body)
			}
			f := strings.Split(lines[0], "!")
			if len(f) != 14 || f[0] != channelOf(t, c, "1004") || f[2] != "1001" || f[4] != "Up" || f[12] != channelOf(t, c, "1001") || f[13] != c.Channels[0].UniqueID {
				t.Fatalf("concise line %q of %+v", lines[0], c)
			}
		}
		// The admin has no extension: its call_list is empty.
		if body := w.replay(ex("call_list"), admin, ""); body != "" && body != "0" {
			if strings.Contains(body, "SIP/") {
				t.Fatalf("admin call_list: %q", body)
			}
		}
		clearCalls(t, n)
	})

	t.Run("call_pick", func(t *testing.T) {
		w.action(admin, "action=call&src=1003&dst=1002")
		c := waitCall(t, n, "1003", "1002")
		// The call is moved once it is up: while 1002 still rings, the
		// originate is setting it up and a redirect is refused.
		waitFor(t, "1002 to answer", func() bool {
			up, err := n.Core().FindCall(demoTenant, c.ID)
			return err == nil && !up.Answered.IsZero()
		})
		w.replay(ex("call_pick"), admin, "1", "SIP/sps2-00000023", channelOf(t, c, "1003"))
		waitCall(t, n, "1003", "1004")
		clearCalls(t, n)
	})

	t.Run("call_hangup", func(t *testing.T) {
		w.action(u1004, "action=call&dst=1001")
		c := waitCall(t, n, "1004", "1001")
		w.replay(ex("call_hangup"), u1004, "1", "SIP/1004-00000010", channelOf(t, c, "1004"))
		waitFor(t, "the call to end", func() bool { _, err := n.Core().FindCall(demoTenant, c.ID); return err != nil })
	})

	t.Run("call_prio", func(t *testing.T) {
		w.action(admin, "action=call&src=1004&dst=1001")
		busy := waitCall(t, n, "1004", "1001")
		w.replay(ex("call_prio"), chef, "1")
		c := waitCall(t, n, "2002", "1004")
		if _, err := n.Core().FindCall(demoTenant, busy.ID); err == nil {
			t.Fatal("the call 1004 was in is still up")
		}
		if c.From != "2002" || c.To != "1004" {
			t.Fatalf("priority call %+v", c)
		}
		// A user may not break other calls.
		if body := w.replay2(ex("call_prio"), u1004); body != "0" {
			t.Fatalf("call_prio by a user: %q", body)
		}
		clearCalls(t, n)
	})

	t.Run("recordings", func(t *testing.T) {
		w.action(admin, "action=call&src=1004&dst=1001")
		c := waitCall(t, n, "1004", "1001")
		ch := channelOf(t, c, "1004")
		gen := w.replay(ex("call_record_start", "chan="), admin, "", "SIP/1004-00000018", ch)
		if !regexp.MustCompile(`^[0-9a-f]{32}_[0-9]+\.wav$`).MatchString(gen) {
			t.Fatalf("generated name %q", gen)
		}
		time.Sleep(time.Second)
		w.replay(ex("call_record_stop"), admin, "1", "SIP/1004-00000018", ch)
		if got := w.replay(ex("call_record_start", "monitor_file="), admin, "", "SIP/1004-00000018", ch); got != "lukas_223344.wav" {
			t.Fatalf("with monitor_file: %q", got)
		}
		time.Sleep(time.Second)
		w.replay(ex("call_record_stop"), admin, "1", "SIP/1004-00000018", ch)
		// The spec's download example names a file: record one by that name.
		if got := w.action(admin, "action=call_record_start&chan="+ch+"&monitor_file=ff787e129af19513f4f1fdb360294452_1358699701.wav"); got != "ff787e129af19513f4f1fdb360294452_1358699701.wav" {
			t.Fatalf("third recording: %q", got)
		}
		time.Sleep(1500 * time.Millisecond)
		if got := w.action(admin, "action=call_record_stop&chan="+ch); got != "1" {
			t.Fatalf("stop: %q", got)
		}
		list := w.replay(ex("call_record_list"), admin, "")
		for _, name := range []string{gen, "lukas_223344.wav", "ff787e129af19513f4f1fdb360294452_1358699701.wav"} {
			if !slices.Contains(strings.Split(list, "\n"), name) {
				t.Fatalf("call_record_list %q lacks %s", list, name)
			}
		}
		body, res := w.get(w.example(ex("call_record_get"), admin))
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/wav" {
			t.Fatalf("call_record_get: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), body[:min(len(body), 20)])
		}
		wav, err := media.ParseWAV([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		pcm := wav.Samples[0]
		if len(pcm) < 8000 {
			t.Fatalf("%d samples", len(pcm))
		}
		if f := media.DominantFrequency(pcm[len(pcm)/4:len(pcm)*3/4], 8000, []float64{440, 425, 1000}); f != 440 {
			t.Fatalf("the recording holds %v Hz, want the bots' 440", f)
		}
		// A user may record its own call but not download.
		if got := w.action(u1004, "action=call_record_get&monitor_file=lukas_223344.wav"); got != "0" {
			t.Fatalf("a user downloaded a recording")
		}
		clearCalls(t, n)
	})

	t.Run("call_status_get", func(t *testing.T) {
		w.action(admin, "action=call&src=1004&dst=1001")
		waitCall(t, n, "1004", "1001")
		all := w.replay(ex("call_status_get"), admin, "")
		exts, _ := n.Core().Extensions(demoTenant)
		lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
		if len(lines) != len(exts) {
			t.Fatalf("%d lines for %d extensions: %q", len(lines), len(exts), all)
		}
		if !slices.Contains(lines, "1004:1") || !slices.Contains(lines, "2003:4") || !slices.Contains(lines, "1222:0") {
			t.Fatalf("call_status_get: %q", all)
		}
		if got := w.replay(ex("call_status_get", "filter="), admin, ""); got != "1001:1\n1004:1\n" {
			t.Fatalf("filtered: %q", got)
		}
		clearCalls(t, n)
		if got := w.replay(ex("call_status_get", "filter="), u1004, ""); got != "1001:0\n1004:0\n" {
			t.Fatalf("filtered, idle: %q", got)
		}
	})

	t.Run("call_create_conf", func(t *testing.T) {
		w.replay(ex("call_create_conf"), admin, "1")
		waitFor(t, "three in a conference", func() bool {
			confs, _ := n.Core().Conferences(demoTenant)
			for _, c := range confs {
				if len(c.Members) == 3 {
					return true
				}
			}
			return false
		})
		clearCalls(t, n)
	})

	t.Run("chan_play_dtmf", func(t *testing.T) {
		w.action(u2001, "action=call&dst=2002")
		waitCall(t, n, "2001", "2002")
		w.replay(ex("chan_play_dtmf"), u2001, "1")
		waitFor(t, "2002 to hear 1234", func() bool {
			dmu.Lock()
			defer dmu.Unlock()
			return strings.Join(digits, ",") == "2002:1,2002:2,2002:3,2002:4"
		})
		clearCalls(t, n)
	})

	t.Run("chan_monitor", func(t *testing.T) {
		w.action(admin, "action=call&src=1222&dst=1003")
		c := waitCall(t, n, "1222", "1003")
		w.replay(ex("chan_monitor"), admin, "1", "SIP/1222-9813871", channelOf(t, c, "1222"))
		// The spy call is marked ChanSpy once it is connected to the
		// spied channel, just after 1001 answers.
		waitFor(t, "1001's ChanSpy call", func() bool {
			spy, ok := liveCall(n, "1001")
			return ok && spy.App == "ChanSpy"
		})
		clearCalls(t, n)
	})

	t.Run("queues", func(t *testing.T) {
		if got := w.replay(ex("q_list"), admin, ""); !strings.Contains(got, "VMX!7777!") || !strings.Contains(got, "Kolejka1!7000!") {
			t.Fatalf("q_list %q", got)
		}
		agents := w.replay(ex("agent_list"), admin, "")
		if !strings.HasPrefix(agents, "1001!") || !strings.Contains(agents, "\n1002!") {
			t.Fatalf("agent_list %q", agents)
		}
		member := func(q, ext string) bool {
			qs, _ := n.Core().Queues(demoTenant)
			for _, x := range qs {
				if x.Name == q {
					return slices.ContainsFunc(x.Members, func(m pbx.QueueMember) bool { return m.Number == ext })
				}
			}
			return false
		}
		w.replay(ex("agent_login"), u2001, "1")
		if !member("VMX", "2001") || !strings.Contains(w.replay(ex("agent_list"), admin, ""), "2001!") {
			t.Fatal("2001 did not join VMX")
		}
		w.replay(ex("agent_logout"), u2001, "1")
		if member("VMX", "2001") {
			t.Fatal("2001 is still in VMX")
		}
		// q_call_list: a phone calls 7777 (the queue VMX), an agent
		// answers. (An originated call's second leg is not routed to
		// queues by the engine, so a phone dials it.)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var phones sync.WaitGroup
		defer phones.Wait()
		dial := func(from, to string) {
			phones.Add(1)
			go func() {
				defer phones.Done()
				_, _ = farm.Call(ctx, from, to, 30*time.Second)
			}()
		}
		dial("2001", "7777")
		waitFor(t, "the queue call to connect", func() bool {
			cs, _ := n.Core().QueueCalls(demoTenant, "VMX")
			return len(cs) == 1 && cs[0].Agent != ""
		})
		qc, _ := n.Core().QueueCalls(demoTenant, "VMX")
		got := strings.TrimSuffix(w.replay(ex("q_call_list"), admin, ""), "\n")
		f := strings.Split(got, "!")
		if strings.Contains(got, "\n") || len(f) != 14 || f[0] != qc[0].Channel || f[2] != "7777" || f[4] != "Up" || f[5] != "Queue" ||
			f[6] != "VMX" || f[7] != "2001" || f[12] != qc[0].AgentChannel || f[13] != qc[0].UniqueID {
			t.Fatalf("q_call_list %q for %+v", got, qc[0])
		}
		clearCalls(t, n)
		// Waiting callers: Kolejka1's only agent paused, two callers wait.
		if _, err := n.Core().QueuePause(demoTenant, "Kolejka1", "101", true, "test"); err != nil {
			t.Fatal(err)
		}
		dial("2001", "7000")
		waitFor(t, "one caller waiting", func() bool { cs, _ := n.Core().QueueCalls(demoTenant, "Kolejka1"); return len(cs) == 1 })
		dial("2002", "7000")
		waitFor(t, "two callers waiting", func() bool { cs, _ := n.Core().QueueCalls(demoTenant, "Kolejka1"); return len(cs) == 2 })
		waiting := strings.Split(strings.TrimSuffix(w.replay(ex("q_waiting_list"), admin, ""), "\n"), "\n")
		if len(waiting) != 2 || !strings.HasPrefix(waiting[0], "Kolejka1!1!SIP/2001-") || !strings.HasPrefix(waiting[1], "Kolejka1!2!SIP/2002-") {
			t.Fatalf("q_waiting_list %q", waiting)
		}
		second := strings.Split(waiting[1], "!")[2]
		if got := w.action(admin, "action=q_shift_caller&q_name=Kolejka1&chan="+second+"&pos=1"); got != "1" {
			t.Fatalf("q_shift_caller: %q", got)
		}
		waiting = strings.Split(strings.TrimSuffix(w.action(admin, "action=q_waiting_list&q_name=Kolejka1"), "\n"), "\n")
		if len(waiting) != 2 || !strings.HasPrefix(waiting[0], "Kolejka1!1!"+second+"!") {
			t.Fatalf("after the shift %q", waiting)
		}
		if got := w.action(u1004, "action=q_caller_del&q_name=Kolejka1&chan="+second); got != "0" {
			t.Fatalf("a user removed a caller: %q", got)
		}
		if got := w.action(admin, "action=q_caller_del&q_name=Kolejka1&chan="+second); got != "1" {
			t.Fatalf("q_caller_del: %q", got)
		}
		waitFor(t, "one caller left", func() bool { cs, _ := n.Core().QueueCalls(demoTenant, "Kolejka1"); return len(cs) == 1 })
		clearCalls(t, n)
	})

	t.Run("relays", func(t *testing.T) {
		if got := w.replay(ex("relay_list"), admin, ""); got != "17!Door!0\n" {
			t.Fatalf("relay_list %q", got)
		}
		if body, _ := w.get(w.example(ex("relay_status_get"), admin)); body != "0" {
			t.Fatalf("relay 17 at start: %q", body)
		}
		w.replay(ex("relay_status_set"), admin, "1")
		if got := w.action(admin, "action=relay_status_get&relay_id=17"); got != "1" {
			t.Fatalf("relay 17 after status=1: %q", got)
		}
		if code, body := apiGet(t, n, "/api/v1/relays/17"); code != 200 || !strings.Contains(body, `"state":1`) {
			t.Fatalf("native view of relay 17: %d %s", code, body)
		}
		if got := w.action(admin, "action=relay_status_set&relay_id=17&status=0"); got != "1" {
			t.Fatalf("status=0: %q", got)
		}
		if code, body := apiGet(t, n, "/api/v1/relays/17"); code != 200 || !strings.Contains(body, `"state":0`) {
			t.Fatalf("native view of relay 17: %d %s", code, body)
		}
	})

	t.Run("cameras", func(t *testing.T) {
		if got := w.replay(ex("vmx_cam_list"), admin, ""); got != "44!Entrance\n" {
			t.Fatalf("vmx_cam_list %q", got)
		}
		body, res := w.get(w.example(ex("vmx_cam_get_pic"), u1004))
		if res.Header.Get("Content-Type") != "image/jpeg" || !bytes.HasSuffix([]byte(body), []byte{0xff, 0xd9}) {
			t.Fatalf("picture: %s, %d bytes", res.Header.Get("Content-Type"), len(body))
		}
		if _, err := jpeg.Decode(strings.NewReader(body)); err != nil {
			t.Fatalf("picture: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", w.base+"?action=vmx_cam_get_stream&CAMID=44&SID="+url.QueryEscape(admin), nil)
		sres, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer sres.Body.Close()
		mt, params, err := mime.ParseMediaType(sres.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/x-mixed-replace" {
			t.Fatalf("stream content type %q", sres.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(bufio.NewReader(sres.Body), params["boundary"])
		for i := 0; i < 3; i++ {
			p, err := mr.NextPart()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if p.Header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("frame %d: %s", i, p.Header.Get("Content-Type"))
			}
			if _, err := jpeg.Decode(p); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
		}
	})

	t.Run("camera files", func(t *testing.T) {
		fetch := func(name string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr().String()+"/api/v1/camera-files/"+name, nil)
			req.SetBasicAuth("admin", "admin")
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("camera file %s: %v %v", name, res, err)
			}
			return res
		}
		pic := w.action(u1004, "action=vmx_cam_p_save&CAMID=44")
		if !strings.HasPrefix(pic, "cam44-") || !strings.HasSuffix(pic, ".jpg") {
			t.Fatalf("vmx_cam_p_save: %q", pic)
		}
		res := fetch(pic)
		_, err := jpeg.Decode(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("saved picture: %v", err)
		}
		rec := w.action(admin, "action=vmx_cam_s_record&CAMID=44&duration=30")
		if !strings.HasPrefix(rec, "cam44-") || !strings.HasSuffix(rec, ".mjpeg") {
			t.Fatalf("vmx_cam_s_record: %q", rec)
		}
		if again := w.action(admin, "action=vmx_cam_s_record&CAMID=44"); again != "0" {
			t.Fatalf("a second recording of the camera: %q", again)
		}
		time.Sleep(1500 * time.Millisecond)
		if stopped := w.action(admin, "action=vmx_cam_s_record&CAMID=44&stop=1"); stopped != rec {
			t.Fatalf("stop: %q, want %q", stopped, rec)
		}
		res = fetch(rec)
		defer res.Body.Close()
		_, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(res.Body, params["boundary"])
		frames := 0
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("frame %d: %v", frames, err)
			}
			if _, err := jpeg.Decode(p); err != nil {
				t.Fatalf("frame %d: %v", frames, err)
			}
			frames++
		}
		if frames < 3 {
			t.Fatalf("%d frames in 1.5 s", frames)
		}
	})

	if strings.Contains(flag.Lookup("test.run").Value.String(), "/") {
		return // some subtests were left out on purpose
	}
	for _, e := range examples {
		if !w.done[e] {
			t.Errorf("spec example not replayed: %s", e)
		}
	}
}

// replay2 sends a spec example and returns the body whatever it is.
func (w *webtapiClient) replay2(example, sid string, subs ...string) string {
	w.t.Helper()
	body, _ := w.get(w.example(example, sid, subs...))
	return body
}

// TestWebTAPIBadInputOnTheDemo: on the running demo, with a second tenant
// whose call is live, bad input of every kind answers 0 and changes
// nothing: no call is made or ended, no recording is started, nothing
// outside the recordings index is served, the relay stays off, an idle
// session expires, and the server stays healthy.
func TestWebTAPIBadInputOnTheDemo(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.API.SessionIdle = 2 * time.Second
		c.Tenants = append(c.Tenants, config.Tenant{Name: "Inna", Domain: "inna.local",
			Extensions: []config.Extension{{Number: "1004", Name: "Other 1004", Password: "other-pass-123"}},
			Users:      []config.User{{Name: "inna", Password: "inna-pass-123", Role: "admin"}}})
	})
	w := newWebTAPIClient(t, n)
	admin := w.login("admin", "admin")
	user := w.login("1004", "demo")
	w.action(admin, "action=call&src=1003&dst=1001")
	theirs := waitCall(t, n, "1003", "1001")
	otherCh, otherCall, err := n.Core().NewCall("Inna", "1004", "1004", false, pbx.ChannelSpec{Peer: "1004", Exten: "1004", Dir: pbx.Inbound})
	if err != nil {
		t.Fatal(err)
	}
	sql := url.QueryEscape("1' OR '1'='1")
	ch := url.QueryEscape(channelOf(t, theirs, "1003"))
	for _, tc := range []struct{ sid, q string }{
		{"", "action=call_list_all"},
		{"nosuchsession0000000000000000000000000000", "action=call&src=1004&dst=1001"},
		{admin + "x", "action=call_hangup&chan=" + ch},
		{admin, "action=call_hangup&chan=" + url.QueryEscape(otherCh.Name)}, // another tenant's channel
		{admin, "action=call_record_start&chan=" + url.QueryEscape(otherCh.Name)},
		{user, "action=call_hangup&chan=" + ch}, // another user's call
		{user, "action=call_record_start&chan=" + ch},
		{user, "action=chan_play_dtmf&tone=1&chan=" + ch},
		{admin, "action=call&src=" + sql + "&dst=1001"},
		{admin, "action=call&src=1004&dst=" + sql},
		{admin, "action=call_hangup&chan=" + sql},
		{admin, "action=q_call_list&q_name=" + sql},
		{admin, "action=relay_status_set&relay_id=" + sql + "&status=1"},
		{admin, "action=relay_status_set&relay_id=17&status=" + sql},
		{admin, "action=vmx_cam_get_pic&CAMID=" + sql},
		{admin, "action=call_status_get&filter=" + sql},
		{admin, "action=call_record_start&chan=" + ch + "&monitor_file=..%2F..%2Fswitchboard"},
		{admin, "action=call_record_start&chan=" + ch + "&monitor_file=%2Ftmp%2Fx"},
		{admin, "action=call_record_start&chan=" + ch + "&monitor_file=..%5Cx"},
		{admin, "action=call_record_start&chan=" + ch + "&monitor_file=x%00.wav"},
		{admin, "action=call_record_start&chan=" + ch + "&monitor_file=%2e%2e%2fx"},
		{admin, "action=call_record_get&monitor_file=..%2Fswitchboard.db"},
		{admin, "action=call_record_get&monitor_file=..%2F..%2Fswitchboard.db"},
		{admin, "action=call_record_get&monitor_file=%2Fetc%2Fpasswd"},
		{admin, "action=call_record_get&monitor_file=switchboard.db"},
		{admin, "action=call_record_get&monitor_file=" + sql},
		{admin, "action=nope"},
		{admin, "action=call&src=1004"},
	} {
		body, res := w.get(w.base + "?" + tc.q + "&SID=" + url.QueryEscape(tc.sid))
		if res.StatusCode != 200 || body != "0" {
			t.Errorf("%s: %d %q", tc.q, res.StatusCode, body)
		}
	}
	calls, _ := n.Core().Calls(demoTenant)
	if len(calls) != 1 || calls[0].ID != theirs.ID {
		t.Fatalf("calls changed: %+v", calls)
	}
	if _, err := n.Core().FindCall("Inna", otherCall.ID); err != nil {
		t.Fatalf("the other tenant's call: %v", err)
	}
	if got := w.action(admin, "action=relay_status_get&relay_id=17"); got != "0" {
		t.Fatalf("relay: %q", got)
	}
	if got := w.action(admin, "action=call_record_list"); got != "" {
		t.Fatalf("recordings: %q", got)
	}
	// An idle session expires (2 s here).
	time.Sleep(2500 * time.Millisecond)
	if got := w.action(user, "action=call_status_get&filter=1004"); got != "0" {
		t.Fatalf("expired session: %q", got)
	}
	if code, _ := apiGet(t, n, "/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
}

// TestWebTAPIOwnListener: with listen: the script is also served on a
// port of its own (the spec's examples use 9998), sessions shared with
// the API listener; an option the dialect does not have stops the start.
func TestWebTAPIOwnListener(t *testing.T) {
	yes := true
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Dialects["webtapi"] = config.Dialect{Enabled: &yes, Listen: "127.0.0.1:0"}
	})
	own := "http://" + n.DialectAddr("webtapi").String() + "/webtapi/webtapi.php"
	res, err := http.PostForm(own+"?action=login", url.Values{"AUTH[user]": {"1001"}, "AUTH[pass]": {"demo"}})
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if len(sid) < 32 {
		t.Fatalf("login on the own listener: %q", sid)
	}
	w := newWebTAPIClient(t, n) // the API listener
	if got := w.action(string(sid), "action=call_status_get&filter=1001"); got != "1001:0\n" {
		t.Fatalf("the session on the API listener: %q", got)
	}
	cfg := config.Demo()
	cfg.Dialects["webtapi"] = config.Dialect{Enabled: &yes, Options: map[string]string{"sid_format": "hex"}}
	cfg.Listen.HTTP, cfg.Listen.SIP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.SetDataDir(t.TempDir())
	if n2, err := Start(context.Background(), cfg, Options{}); err == nil {
		_ = n2.Close(context.Background())
		t.Fatal("an unknown webtapi option was accepted")
	} else if !strings.Contains(err.Error(), "webtapi") || !strings.Contains(err.Error(), "sid_format") {
		t.Fatalf("error %v does not name the dialect and the option", err)
	}
}

// TestWebTAPIStaleSessionDoesNotLockOut: a client polling with a session
// that expired (here after 1 s idle) gets 0 as often as it asks, and can
// still log in again from the same address: an expired session id is not
// a password guess (ids are 256 random bits; nobody guesses one).
func TestWebTAPIStaleSessionDoesNotLockOut(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) { c.API.SessionIdle = time.Second })
	w := newWebTAPIClient(t, n)
	sid := w.login("1004", "demo")
	time.Sleep(1500 * time.Millisecond)
	for i := 0; i < 20; i++ {
		if got := w.action(sid, "action=call_list_all"); got != "0" {
			t.Fatalf("expired session: %q", got)
		}
	}
	sid = w.login("1004", "demo")
	if got := w.action(sid, "action=call_status_get&filter=1004"); got != "1004:0\n" {
		t.Fatalf("new session: %q", got)
	}
}
