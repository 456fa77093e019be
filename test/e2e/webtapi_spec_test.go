package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// wtCall is a live call as the native API shows it.
type wtCall struct {
	ID         string   `json:"id"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Originated bool     `json:"originated"`
	Channels   []wtChan `json:"channels"`
}

type wtChan struct {
	Name     string `json:"name"`
	UniqueID string `json:"uniqueid"`
	Exten    string `json:"exten"`
	State    string `json:"state"`
}

// up: every one of exts has an answered channel in the call.
func (c wtCall) up(exts ...string) bool {
	for _, x := range exts {
		ok := false
		for _, ch := range c.Channels {
			ok = ok || (ch.Exten == x && ch.State == "up")
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c wtCall) channel(t *testing.T, ext string) (name, uniqueid string) {
	t.Helper()
	for _, ch := range c.Channels {
		if ch.Exten == ext {
			return ch.Name, ch.UniqueID
		}
	}
	t.Fatalf("no channel of %s in %+v", ext, c)
	return "", ""
}

// wtSpec replays the WebTAPI spec's request examples against one running
// binary.
type wtSpec struct {
	s        *server
	base     string
	examples []string
	done     []bool
}

const wtSpecBase = "http://192.168.1.1:9998/webtapi/webtapi.php?"

var wtSpecSID = regexp.MustCompile(`SID=[0-9a-f]{32}`)

// url is example i (1-based, the line of requests.txt) with only host,
// port, SID and the named live values (old, new pairs) changed.
func (w *wtSpec) url(t *testing.T, i int, sid string, subs ...string) string {
	t.Helper()
	e := w.examples[i-1]
	if !strings.HasPrefix(e, wtSpecBase) || len(wtSpecSID.FindAllString(e, -1)) != 1 {
		t.Fatalf("not a spec example: %s", e)
	}
	w.done[i-1] = true
	u := "http://" + w.s.http + "/webtapi/webtapi.php?" + strings.TrimPrefix(e, wtSpecBase)
	u = wtSpecSID.ReplaceAllLiteralString(u, "SID="+url.QueryEscape(sid))
	for j := 0; j+1 < len(subs); j += 2 {
		if !strings.Contains(u, subs[j]) {
			t.Fatalf("example %d has no %s: %s", i, subs[j], e)
		}
		u = strings.Replace(u, subs[j], subs[j+1], 1)
	}
	return u
}

// get sends a GET and returns status, Content-Type and body.
func (w *wtSpec) get(t *testing.T, u string) (int, string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// replay sends example i and wants 200 and the reply want ("" = any but
// "0", the protocol's error).
func (w *wtSpec) replay(t *testing.T, i int, sid, want string, subs ...string) string {
	t.Helper()
	u := w.url(t, i, sid, subs...)
	code, _, b := w.get(t, u)
	if code != 200 || (want != "" && string(b) != want) || string(b) == "0" {
		t.Fatalf("example %d %s: %d %q, want %q", i, u, code, b, want)
	}
	return string(b)
}

// action sends a request of our own (for setup, or an action the spec
// gives no example of, with the parameters docs/webtapi.md names).
func (w *wtSpec) action(t *testing.T, sid, query string) string {
	t.Helper()
	_, _, b := w.get(t, "http://"+w.s.http+"/webtapi/webtapi.php?"+query+"&SID="+url.QueryEscape(sid))
	return string(b)
}

// login posts AUTH[user] and AUTH[pass], multipart or form-encoded, as
// the spec's login prescribes.
func (w *wtSpec) login(t *testing.T, user, pass string, multipartForm bool) string {
	t.Helper()
	var body bytes.Buffer
	ctype := "application/x-www-form-urlencoded"
	if multipartForm {
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("AUTH[user]", user)
		_ = mw.WriteField("AUTH[pass]", pass)
		_ = mw.Close()
		ctype = mw.FormDataContentType()
	} else {
		body.WriteString(url.Values{"AUTH[user]": {user}, "AUTH[pass]": {pass}}.Encode())
	}
	res, err := http.Post("http://"+w.s.http+"/webtapi/webtapi.php?action=login", ctype, &body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || len(b) < 32 || string(b) == "0" || strings.ContainsAny(string(b), "\n ") {
		t.Fatalf("login %s: %d %q", user, res.StatusCode, b)
	}
	return string(b)
}

// until polls cond every 100 ms for up to 30 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *wtSpec) calls(t *testing.T) []wtCall {
	t.Helper()
	var cs []wtCall
	w.s.getJSON(t, "/api/v1/calls", &cs)
	return cs
}

// waitCall waits for a live call in which every one of exts is up.
func (w *wtSpec) waitCall(t *testing.T, exts ...string) wtCall {
	t.Helper()
	var c wtCall
	until(t, "a call of "+strings.Join(exts, " and "), func() bool {
		for _, x := range w.calls(t) {
			if x.up(exts...) {
				c = x
				return true
			}
		}
		return false
	})
	return c
}

// originate places a call through the native API (setup for examples
// that name a live channel).
func (w *wtSpec) originate(t *testing.T, from, to string) wtCall {
	t.Helper()
	var c wtCall
	w.s.postJSON(t, "/api/v1/calls", fmt.Sprintf(`{"from":%q,"to":%q}`, from, to), 201, &c)
	return w.waitCall(t, from, to)
}

// clear hangs up every live call through the native API and waits until
// none is left.
func (w *wtSpec) clear(t *testing.T) {
	t.Helper()
	for _, c := range w.calls(t) {
		if code, b := w.s.request(t, "DELETE", "/api/v1/calls/"+c.ID, ""); code != 204 && code != 404 {
			t.Fatalf("hangup %s: %d %s", c.ID, code, b)
		}
	}
	until(t, "no calls", func() bool { return len(w.calls(t)) == 0 })
}

func (w *wtSpec) gone(t *testing.T, id string) bool {
	t.Helper()
	return !slices.ContainsFunc(w.calls(t), func(c wtCall) bool { return c.ID == id })
}

// conciseLine checks one line of a channel list against the call's
// channel of ext, talking to peer.
func conciseLine(t *testing.T, line string, c wtCall, ext, peer, exten string) {
	t.Helper()
	f := strings.Split(line, "!")
	ch, uid := c.channel(t, ext)
	pch, _ := c.channel(t, peer)
	if len(f) != 14 || f[0] != ch || f[2] != exten || f[4] != "Up" || f[12] != pch || f[13] != uid {
		t.Fatalf("concise line %q for %+v", line, c)
	}
}

// TestWebTAPISpecExamplesAgainstTheBinary replays every request example
// of the WebTAPI spec (the dialect's testdata/spec/requests.txt, copied
// verbatim from the spec), in the spec's order, against the real binary
// in demo mode, changing only host, port, SID (from real logins) and the
// channel names of calls really placed through the binary. Each reply's
// format is checked and so is its effect, seen through the native API or
// a real phone: calls ring and connect the demo bots, a pick moves a
// call, a hangup ends it, a priority call breaks the busy one, channel
// lists name the live channels, recordings download as WAVs holding the
// bots' 440 Hz tone, a conference holds its three stations, agents join
// and leave the queue, queue lists show a baresip caller served or
// waiting, the picture is a complete JPEG, digits reach the far phone,
// a monitor call spies, relay 17 switches. The actions the spec names
// without an example (camera stream, record and save; q_shift_caller,
// q_caller_del) are driven with docs/webtapi.md's parameters.
func TestWebTAPISpecExamplesAgainstTheBinary(t *testing.T) {
	needTool(t, "baresip", "baresip")
	raw, err := os.ReadFile("../../internal/dialect/webtapi/testdata/spec/requests.txt")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, t.TempDir())
	w := &wtSpec{s: s, examples: strings.Split(strings.TrimSpace(string(raw)), "\n")}
	w.done = make([]bool, len(w.examples))
	if len(w.examples) != 28 {
		t.Fatalf("%d examples in requests.txt, the spec has 28", len(w.examples))
	}

	// Login (the spec gives no URL: it must be a POST): multipart and
	// form-encoded; a GET login is refused. A supervisor with a phone of
	// its own (bot 1002) is made through the native API for call_prio:
	// users may not break other calls and admin has no phone to ring.
	u1004 := w.login(t, "1004", "demo", true)
	admin := w.login(t, "admin", "admin", false)
	u2001 := w.login(t, "2001", "demo", true)
	if got := w.action(t, "", "action=login&AUTH[user]=1004&AUTH[pass]=demo"); got != "0" {
		t.Fatalf("GET login: %q", got)
	}
	s.postJSON(t, "/api/v1/users", `{"name":"chef","password":"chef-pass-123","role":"supervisor","extension":"1002"}`, 201, nil)
	chef := w.login(t, "chef", "chef-pass-123", false)

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("1-2 call", func(t *testing.T) {
		for _, i := range []int{1, 2} {
			w.replay(t, i, u1004, "1")
			c := w.waitCall(t, "1004", "1001")
			if c.From != "1004" || c.To != "1001" || !c.Originated {
				t.Fatalf("example %d placed %+v", i, c)
			}
			w.clear(t)
		}
	})

	step("3 call_pick", func(t *testing.T) {
		c := w.originate(t, "1003", "1002")
		ch, _ := c.channel(t, "1003")
		w.replay(t, 3, admin, "1", "SIP/sps2-00000023", ch)
		moved := w.waitCall(t, "1003", "1004")
		if n, _ := moved.channel(t, "1003"); n != ch {
			t.Fatalf("1003 talks to 1004 on %s, not the picked %s", n, ch)
		}
		until(t, "1002 to leave the call", func() bool {
			for _, x := range w.calls(t) {
				if x.up("1002") {
					return false
				}
			}
			return true
		})
		w.clear(t)
	})

	step("4 call_hangup", func(t *testing.T) {
		if got := w.action(t, u1004, "action=call&dst=1001"); got != "1" {
			t.Fatalf("call: %q", got)
		}
		c := w.waitCall(t, "1004", "1001")
		ch, _ := c.channel(t, "1004")
		w.replay(t, 4, u1004, "1", "SIP/1004-00000010", ch)
		until(t, "the call to end", func() bool { return w.gone(t, c.ID) })
		var page cdrPage
		until(t, "its CDR", func() bool {
			s.getJSON(t, "/api/v1/cdrs?number=1004&limit=1", &page)
			return len(page.CDRs) == 1 && page.CDRs[0].UniqueID == c.ID
		})
		if page.CDRs[0].Disposition != "ANSWERED" || page.CDRs[0].Channel != ch {
			t.Fatalf("CDR %+v", page.CDRs[0])
		}
	})

	step("5 call_prio", func(t *testing.T) {
		busy := w.originate(t, "1004", "1001")
		w.replay(t, 5, chef, "1")
		c := w.waitCall(t, "1002", "1004")
		if c.From != "1002" || c.To != "1004" {
			t.Fatalf("priority call %+v", c)
		}
		until(t, "the busy call to be broken", func() bool { return w.gone(t, busy.ID) })
		if got := w.action(t, u1004, "action=call_prio&dst=1001"); got != "0" {
			t.Fatalf("call_prio by a user: %q", got)
		}
		w.clear(t)
	})

	// One call of 1004 with 1001, live for examples 6 to 14.
	var live wtCall
	var liveCh string
	step("6-7 call_list and call_list_all", func(t *testing.T) {
		if got := w.action(t, u1004, "action=call&dst=1001"); got != "1" {
			t.Fatalf("call: %q", got)
		}
		live = w.waitCall(t, "1004", "1001")
		liveCh, _ = live.channel(t, "1004")
		for i, sid := range map[int]string{6: u1004, 7: admin} {
			body := w.replay(t, i, sid, "")
			lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			if len(lines) != 2 || !strings.HasSuffix(body, "\n") {
				t.Fatalf("example %d: %q", i, body)
			}
			conciseLine(t, lines[0], live, "1004", "1001", "1001")
			conciseLine(t, lines[1], live, "1001", "1004", "1001")
		}
		if got := w.replay(t, 6, admin, ""); got != "" {
			t.Fatalf("call_list of admin (no extension): %q", got)
		}
	})

	step("8-12 recordings", func(t *testing.T) {
		// Examples 8 and 9 both record a channel of 1004: the second on
		// a second call of 1004 (one recording per call at a time).
		second := w.originate(t, "1003", "1004")
		secondCh, _ := second.channel(t, "1004")
		gen := w.replay(t, 8, admin, "", "SIP/1004-00000018", liveCh)
		if !regexp.MustCompile(`^[0-9a-f]{32}_[0-9]+\.wav$`).MatchString(gen) {
			t.Fatalf("generated name %q", gen)
		}
		if got := w.replay(t, 9, admin, "", "SIP/1004-00000018", secondCh); got != "lukas_223344.wav" {
			t.Fatalf("with monitor_file: %q", got)
		}
		w.recordFor(t, gen, time.Second)
		w.recordFor(t, "lukas_223344.wav", time.Second)
		w.replay(t, 10, admin, "1", "SIP/1004-00000018", liveCh)
		w.replay(t, 10, admin, "1", "SIP/1004-00000018", secondCh)
		w.stopped(t, gen, 1000)
		w.stopped(t, "lukas_223344.wav", 1000)
		w.clearCall(t, second.ID)
		// Example 12 downloads a file by the spec's name: record one so.
		const specFile = "ff787e129af19513f4f1fdb360294452_1358699701.wav"
		if got := w.action(t, admin, "action=call_record_start&chan="+url.QueryEscape(liveCh)+"&monitor_file="+specFile); got != specFile {
			t.Fatalf("recording by the spec's name: %q", got)
		}
		w.recordFor(t, specFile, 2*time.Second)
		w.replay(t, 10, admin, "1", "SIP/1004-00000018", liveCh)
		w.stopped(t, specFile, 2000)
		list := strings.Split(w.replay(t, 11, admin, ""), "\n")
		for _, name := range []string{gen, "lukas_223344.wav", specFile} {
			if !slices.Contains(list, name) {
				t.Fatalf("call_record_list %q lacks %s", list, name)
			}
		}
		code, ctype, body := w.get(t, w.url(t, 12, admin))
		if code != 200 || ctype != "audio/wav" {
			t.Fatalf("call_record_get: %d %s %q", code, ctype, body[:min(len(body), 40)])
		}
		wav, err := media.ParseWAV(body)
		if err != nil {
			t.Fatal(err)
		}
		pcm := wav.Samples[0]
		if wav.SampleRate != 8000 || len(pcm) < 8000 {
			t.Fatalf("%d Hz, %d samples", wav.SampleRate, len(pcm))
		}
		if f := media.DominantFrequency(pcm[len(pcm)/4:len(pcm)*3/4], 8000, []float64{440, 425, 1000}); f != 440 {
			t.Fatalf("the recording holds %v Hz, want the bots' 440", f)
		}
		if got := w.action(t, u1004, "action=call_record_get&monitor_file="+specFile); got != "0" {
			t.Fatalf("a user downloaded a recording: %d bytes", len(got))
		}
	})

	step("13-14 call_status_get", func(t *testing.T) {
		all := w.replay(t, 13, admin, "")
		var exts []struct {
			Number string `json:"number"`
		}
		s.getJSON(t, "/api/v1/extensions", &exts)
		lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
		if len(lines) != len(exts) {
			t.Fatalf("%d lines for %d extensions: %q", len(lines), len(exts), all)
		}
		for _, want := range []string{"1004:1", "1001:1", "1222:0", "2003:4"} {
			if !slices.Contains(lines, want) {
				t.Fatalf("call_status_get lacks %s: %q", want, all)
			}
		}
		if got := w.replay(t, 14, admin, ""); got != "1001:1\n1004:1\n" {
			t.Fatalf("filtered: %q", got)
		}
		w.clear(t)
		if got := w.replay(t, 14, u1004, ""); got != "1001:0\n1004:0\n" {
			t.Fatalf("filtered, idle: %q", got)
		}
	})

	step("15 call_create_conf", func(t *testing.T) {
		busy := w.originate(t, "1003", "1222") // break=true: 1003 is taken out of it
		w.replay(t, 15, admin, "1")
		until(t, "1001, 1002 and 1003 in one conference", func() bool {
			var confs struct {
				Conferences []struct {
					Members []struct {
						Channel wtChan `json:"channel"`
					} `json:"members"`
				} `json:"conferences"`
			}
			w.s.getJSON(t, "/api/v1/conferences", &confs)
			for _, c := range confs.Conferences {
				var in []string
				for _, m := range c.Members {
					if m.Channel.State == "up" {
						in = append(in, m.Channel.Exten)
					}
				}
				slices.Sort(in)
				if slices.Equal(in, []string{"1001", "1002", "1003"}) {
					return true
				}
			}
			return false
		})
		if !w.gone(t, busy.ID) {
			t.Fatal("break=true left 1003's call up")
		}
		w.clear(t)
	})

	step("16-19 queues and agents", func(t *testing.T) {
		if got := w.replay(t, 16, admin, ""); !strings.Contains(got, "VMX!7777!") || !strings.Contains(got, "Kolejka1!7000!") {
			t.Fatalf("q_list %q", got)
		}
		agents := w.replay(t, 17, admin, "")
		if !strings.HasPrefix(agents, "1001!") || !strings.Contains(agents, "\n1002!") || strings.Contains(agents, "2001!") {
			t.Fatalf("agent_list %q", agents)
		}
		member := func() bool {
			var qs struct {
				Queues []struct {
					Name    string `json:"name"`
					Members []struct {
						Number string `json:"number"`
					} `json:"members"`
				} `json:"queues"`
			}
			s.getJSON(t, "/api/v1/queues", &qs)
			for _, q := range qs.Queues {
				if q.Name == "VMX" {
					return slices.ContainsFunc(q.Members, func(m struct {
						Number string `json:"number"`
					}) bool {
						return m.Number == "2001"
					})
				}
			}
			t.Fatalf("no queue VMX in %+v", qs)
			return false
		}
		w.replay(t, 18, u2001, "1")
		if !member() || !strings.Contains(w.replay(t, 17, admin, ""), "\n2001!") {
			t.Fatal("2001 did not join VMX")
		}
		w.replay(t, 19, u2001, "1")
		if member() {
			t.Fatal("2001 is still in VMX")
		}
	})

	// A real phone, 2001, for the queue's caller and a far end that
	// reports the digits it hears.
	phone := startBaresip(t, s, "2001", "udp")

	step("20 q_call_list", func(t *testing.T) {
		phone.cmd("/dial 7777")
		type qcall struct {
			Channel      string `json:"channel"`
			UniqueID     string `json:"uniqueid"`
			Agent        string `json:"agent"`
			AgentChannel string `json:"agent_channel"`
		}
		var qc struct {
			Calls []qcall `json:"calls"`
		}
		until(t, "an agent of VMX to answer 2001", func() bool {
			s.getJSON(t, "/api/v1/queues/VMX/calls", &qc)
			return len(qc.Calls) == 1 && qc.Calls[0].AgentChannel != "" && w.waitUp(t, qc.Calls[0].AgentChannel)
		})
		got := w.replay(t, 20, admin, "")
		f := strings.Split(strings.TrimSuffix(got, "\n"), "!")
		c := qc.Calls[0]
		if strings.Count(got, "\n") != 1 || len(f) != 14 || f[0] != c.Channel || !strings.HasPrefix(f[0], "SIP/2001-") || f[2] != "7777" ||
			f[4] != "Up" || f[5] != "Queue" || f[6] != "VMX" || f[7] != "2001" || f[12] != c.AgentChannel || f[13] != c.UniqueID {
			t.Fatalf("q_call_list %q for %+v", got, c)
		}
		phone.cmd("/hangup")
		until(t, "no calls", func() bool { return len(w.calls(t)) == 0 })
	})

	step("21 q_waiting_list", func(t *testing.T) {
		// Kolejka1's only agent paused: 2001, then a second phone, 2002,
		// wait in it.
		phone2 := startBaresip(t, s, "2002", "udp")
		s.postJSON(t, "/api/v1/queues/Kolejka1/members/101/pause", `{"paused":true,"reason":"test"}`, 200, nil)
		defer s.postJSON(t, "/api/v1/queues/Kolejka1/members/101/pause", `{"paused":false}`, 200, nil)
		type qcall struct {
			Position int    `json:"position"`
			Channel  string `json:"channel"`
			UniqueID string `json:"uniqueid"`
		}
		waiting := func(n int) []qcall {
			var qc struct {
				Calls []qcall `json:"calls"`
			}
			until(t, fmt.Sprintf("%d waiting in Kolejka1", n), func() bool {
				s.getJSON(t, "/api/v1/queues/Kolejka1/calls", &qc)
				return len(qc.Calls) == n
			})
			slices.SortFunc(qc.Calls, func(a, b qcall) int { return a.Position - b.Position })
			return qc.Calls
		}
		closed := strings.Count(phone2.out.String(), "session closed")
		phone.cmd("/dial 7000")
		waiting(1)
		phone2.cmd("/dial 7000")
		qc := waiting(2)
		got := w.replay(t, 21, admin, "")
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if len(lines) != 2 || !strings.HasSuffix(got, "\n") {
			t.Fatalf("q_waiting_list %q", got)
		}
		for k, who := range []string{"2001", "2002"} {
			f := strings.Split(lines[k], "!")
			if len(f) != 7 || f[0] != "Kolejka1" || f[1] != fmt.Sprint(k+1) || f[2] != qc[k].Channel || !strings.HasPrefix(f[2], "SIP/"+who+"-") ||
				f[3] != who || f[6] != qc[k].UniqueID {
				t.Fatalf("q_waiting_list line %d %q for %+v", k, lines[k], qc[k])
			}
		}
		// q_shift_caller and q_caller_del (no examples in the spec;
		// parameters of docs/webtapi.md): 2002 moves to the head of the
		// line, then is hung up.
		second := qc[1].Channel
		if got := w.action(t, admin, "action=q_shift_caller&q_name=Kolejka1&chan="+url.QueryEscape(second)+"&pos=1"); got != "1" {
			t.Fatalf("q_shift_caller: %q", got)
		}
		if qc := waiting(2); qc[0].Channel != second || qc[0].Position != 1 {
			t.Fatalf("after the shift %+v", qc)
		}
		if got := w.action(t, admin, "action=q_caller_del&q_name=Kolejka1&chan="+url.QueryEscape(second)); got != "1" {
			t.Fatalf("q_caller_del: %q", got)
		}
		if qc := waiting(1); qc[0].Channel == second {
			t.Fatalf("after the removal %+v", qc)
		}
		until(t, "2002's call to be closed", func() bool { return strings.Count(phone2.out.String(), "session closed") > closed })
		phone.cmd("/hangup")
		until(t, "no calls", func() bool { return len(w.calls(t)) == 0 })
	})

	step("22-23 cameras", func(t *testing.T) {
		if got := w.replay(t, 22, admin, ""); got != "44!Entrance\n" {
			t.Fatalf("vmx_cam_list %q", got)
		}
		code, ctype, pic := w.get(t, w.url(t, 23, u1004))
		if code != 200 || ctype != "image/jpeg" || !bytes.HasPrefix(pic, []byte{0xff, 0xd8}) || !bytes.HasSuffix(pic, []byte{0xff, 0xd9}) {
			t.Fatalf("picture: %d %s, %d bytes", code, ctype, len(pic))
		}
		if img, err := jpeg.Decode(bytes.NewReader(pic)); err != nil || img.Bounds().Dx() < 16 {
			t.Fatalf("picture: %v", err)
		}
		w.cameraExtras(t, admin)
	})

	step("24 chan_play_dtmf", func(t *testing.T) {
		if got := w.action(t, u1004, "action=call&dst=2001"); got != "1" { // 2001 answers by itself
			t.Fatalf("call: %q", got)
		}
		w.waitCall(t, "1004", "2001")
		before := len(phone.out.String())
		w.replay(t, 24, u1004, "1")
		until(t, "2001 to hear 1234", func() bool {
			out := phone.out.String()[before:]
			i1 := strings.Index(out, "received event: '1' (end=1)")
			i2 := strings.Index(out, "received event: '2' (end=1)")
			i3 := strings.Index(out, "received event: '3' (end=1)")
			i4 := strings.Index(out, "received event: '4' (end=1)")
			return i1 >= 0 && i1 < i2 && i2 < i3 && i3 < i4
		})
		w.clear(t)
	})

	step("25 chan_monitor", func(t *testing.T) {
		c := w.originate(t, "1222", "1003")
		ch, _ := c.channel(t, "1222")
		w.replay(t, 25, admin, "1", "SIP/1222-9813871", ch)
		spy := w.waitCall(t, "1001")
		if spy.ID == c.ID {
			t.Fatalf("1001 joined the monitored call itself: %+v", spy)
		}
		w.clear(t)
		var page cdrPage
		until(t, "the monitor call's CDR", func() bool {
			s.getJSON(t, "/api/v1/cdrs?number=1001&limit=1", &page)
			return len(page.CDRs) == 1 && page.CDRs[0].UniqueID == spy.ID
		})
		if page.CDRs[0].LastApp != "ChanSpy" {
			t.Fatalf("monitor CDR %+v", page.CDRs[0])
		}
	})

	step("26-28 relays", func(t *testing.T) {
		if got := w.replay(t, 26, admin, ""); got != "17!Door!0\n" {
			t.Fatalf("relay_list %q", got)
		}
		// relay_status_get answers the state: 0 is "off" here.
		if code, _, b := w.get(t, w.url(t, 27, admin)); code != 200 || string(b) != "0" {
			t.Fatalf("relay 17 at start: %d %q", code, b)
		}
		relay := func() int {
			var r struct {
				State int `json:"state"`
			}
			s.getJSON(t, "/api/v1/relays/17", &r)
			return r.State
		}
		if relay() != 0 {
			t.Fatal("relay 17 on at start")
		}
		w.replay(t, 28, admin, "1")
		if got := relay(); got != 1 {
			t.Fatalf("native view of relay 17 after status=1: %d", got)
		}
		if got := w.action(t, admin, "action=relay_status_get&relay_id=17"); got != "1" {
			t.Fatalf("relay_status_get after status=1: %q", got)
		}
	})

	for i, e := range w.examples {
		if !w.done[i] {
			t.Errorf("spec example %d not replayed: %s", i+1, e)
		}
	}
	if code, _ := s.request(t, "GET", "/healthz", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
}

// waitUp: the channel named is answered.
func (w *wtSpec) waitUp(t *testing.T, name string) bool {
	for _, c := range w.calls(t) {
		for _, ch := range c.Channels {
			if ch.Name == name {
				return ch.State == "up"
			}
		}
	}
	return false
}

type wtRecording struct {
	File    string    `json:"file"`
	State   string    `json:"state"`
	Started time.Time `json:"started"`
	Millis  int64     `json:"duration_ms"`
	Size    int64     `json:"size"`
}

// recording waits until the native API lists file in state.
func (w *wtSpec) recording(t *testing.T, file, state string) wtRecording {
	t.Helper()
	var rec wtRecording
	until(t, file+" "+state, func() bool {
		var page struct {
			Recordings []wtRecording `json:"recordings"`
		}
		w.s.getJSON(t, "/api/v1/recordings?limit=100", &page)
		for _, r := range page.Recordings {
			if r.File == file && r.State == state {
				rec = r
				return true
			}
		}
		return false
	})
	return rec
}

// recordFor waits until file has been recording for d (the index gives
// a running recording no duration yet: the start time says).
func (w *wtSpec) recordFor(t *testing.T, file string, d time.Duration) {
	t.Helper()
	r := w.recording(t, file, "recording")
	time.Sleep(time.Until(r.Started.Add(d + 200*time.Millisecond)))
}

// stopped waits until file is stopped and wants at least minMillis of
// audio in it.
func (w *wtSpec) stopped(t *testing.T, file string, minMillis int64) {
	t.Helper()
	if r := w.recording(t, file, "stopped"); r.Millis < minMillis || r.Size < 44+16*minMillis {
		t.Fatalf("%s: %+v, want %d ms", file, r, minMillis)
	}
}

// clearCall hangs one call up and waits for it to end.
func (w *wtSpec) clearCall(t *testing.T, id string) {
	t.Helper()
	w.s.delete(t, "/api/v1/calls/"+id, 204)
	until(t, "call "+id+" to end", func() bool { return w.gone(t, id) })
}

// cameraExtras drives the camera actions the spec names without an
// example, with docs/webtapi.md's parameters: the stream gives several
// JPEG frames, a saved picture and a recording are files of the native
// API holding JPEGs.
func (w *wtSpec) cameraExtras(t *testing.T, sid string) {
	t.Helper()
	base := "http://" + w.s.http + "/webtapi/webtapi.php?"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"action=vmx_cam_get_stream&CAMID=44&SID="+url.QueryEscape(sid), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" || res.StatusCode != 200 {
		res.Body.Close()
		t.Fatalf("stream: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if n, err := jpegParts(res.Body, params["boundary"], 3); n < 3 {
		res.Body.Close()
		t.Fatalf("stream: %d frames: %v", n, err)
	}
	res.Body.Close()

	file := func(name string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", "http://"+w.s.http+"/api/v1/camera-files/"+url.PathEscape(name), nil)
		req.SetBasicAuth("admin", "admin")
		res, err := http.DefaultClient.Do(req)
		if err == nil && res.StatusCode != 200 {
			res.Body.Close()
			return nil, fmt.Errorf("camera file %s: %d", name, res.StatusCode)
		}
		return res, err
	}
	pic := w.action(t, sid, "action=vmx_cam_p_save&CAMID=44")
	if !regexp.MustCompile(`^cam44-[^/\\]+\.jpg$`).MatchString(pic) {
		t.Fatalf("vmx_cam_p_save: %q", pic)
	}
	pres, err := file(pic)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := io.ReadAll(pres.Body)
	pres.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(saved)); err != nil {
		t.Fatalf("saved picture: %v", err)
	}
	picSize := int64(len(saved))

	rec := w.action(t, sid, "action=vmx_cam_s_record&CAMID=44&duration=60")
	if !regexp.MustCompile(`^cam44-[^/\\]+\.mjpeg$`).MatchString(rec) {
		t.Fatalf("vmx_cam_s_record: %q", rec)
	}
	// Stop once the file holds three frames.
	until(t, "three frames recorded", func() bool {
		var files struct {
			Files []struct {
				Name string `json:"name"`
				Size int64  `json:"size"`
			} `json:"files"`
		}
		w.s.getJSON(t, "/api/v1/camera-files", &files)
		for _, f := range files.Files {
			if f.Name == rec && f.Size > 3*(picSize+256) {
				return true
			}
		}
		return false
	})
	if stopped := w.action(t, sid, "action=vmx_cam_s_record&CAMID=44&stop=1"); stopped != rec {
		t.Fatalf("stop: %q, want %q", stopped, rec)
	}
	rres, err := file(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer rres.Body.Close()
	_, params, err = mime.ParseMediaType(rres.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("recording type %q: %v", rres.Header.Get("Content-Type"), err)
	}
	if n, err := jpegParts(rres.Body, params["boundary"], 0); n < 3 || err != nil {
		t.Fatalf("recording: %d frames: %v", n, err)
	}
}

// jpegParts decodes the JPEG parts of a multipart body: up to max (0: all,
// and then a clean end is required).
func jpegParts(r io.Reader, boundary string, max int) (int, error) {
	mr := multipart.NewReader(bufio.NewReader(r), boundary)
	n := 0
	for max == 0 || n < max {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if ct := p.Header.Get("Content-Type"); ct != "image/jpeg" {
			return n, fmt.Errorf("part %d: %s", n, ct)
		}
		if _, err := jpeg.Decode(p); err != nil {
			return n, fmt.Errorf("part %d: %w", n, err)
		}
		n++
	}
	return n, nil
}
