package sipengine

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// BenchmarkRegisterFlood floods the engine with 5,000 wrong-password
// REGISTERs a second (SB_FLOOD_RATE and SB_FLOOD_SECONDS change it) from
// one socket or from 200 addresses, with and without the brute-force
// guard (SB_FLOOD_MODE picks one by name), while a phone on another address registers every 500 ms. The
// flood comes from a child process (this test binary re-run as
// TestFloodGeneratorChild), so the CPU printed, from getrusage, is the
// engine's alone. Figures are printed, not asserted:
//
//	go test -run '^$' -bench BenchmarkRegisterFlood -benchtime 1x ./internal/sipengine/
func BenchmarkRegisterFlood(b *testing.B) {
	rate := envInt("SB_FLOOD_RATE", 5000)
	dur := time.Duration(envInt("SB_FLOOD_SECONDS", 10)) * time.Second
	for _, mode := range []struct {
		name    string
		sockets int
		guard   AuthGuardConfig
	}{
		{"one-socket/guard", 1, AuthGuardConfig{}},
		{"200-addresses/guard", 200, AuthGuardConfig{}},
		{"one-socket/no-guard", 1, AuthGuardConfig{AddrFailures: -1}},
	} {
		if m := os.Getenv("SB_FLOOD_MODE"); m != "" && m != mode.name {
			continue
		}
		eng := floodEngine(b, mode.guard)
		ctx, cancel := context.WithTimeout(context.Background(), dur)
		var ph phoneResult
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			ph = registerEvery(ctx, b, eng.Addr(), 500*time.Millisecond)
		}()
		cpu0, t0 := cpuNow(), time.Now()
		cmd := exec.Command(os.Args[0], "-test.run=^TestFloodGeneratorChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SB_FLOOD_CHILD=1", "SB_FLOOD_DST="+eng.Addr().String(),
			fmt.Sprint("SB_FLOOD_SOCKETS=", mode.sockets), fmt.Sprint("SB_FLOOD_RATE=", rate), fmt.Sprint("SB_FLOOD_SECONDS=", int(dur.Seconds())))
		out, err := cmd.CombinedOutput()
		wg.Wait()
		cancel()
		cpu, wall := cpuNow()-cpu0, time.Since(t0)
		if err != nil {
			b.Fatalf("generator: %v\n%s", err, out)
		}
		var sent int
		if i := bytes.Index(out, []byte("SENT ")); i >= 0 {
			fmt.Sscan(string(out[i+5:]), &sent)
		}
		b.Logf("%-20s engine %.2f s CPU in %.1f s (%.0f %% of one core); %d bad REGISTERs (%.0f/s); phone: %d/%d registrations, worst %v",
			mode.name, cpu.Seconds(), wall.Seconds(), 100*cpu.Seconds()/wall.Seconds(), sent, float64(sent)/wall.Seconds(), ph.ok, ph.tries, ph.worst)
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		eng.Close(cctx)
		ccancel()
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func floodEngine(b *testing.B, guard AuthGuardConfig) *Engine {
	var exts []pbx.ExtensionEntry
	var sexts []Extension
	for _, n := range []string{"100", "101"} {
		exts = append(exts, pbx.ExtensionEntry{Number: n})
		sexts = append(sexts, Extension{Number: n, HA1: HA1(n, domain, "pw-"+n)})
	}
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "t", Domain: domain, Extensions: exts}}}, &memCDRs{}, pbx.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(core.Close)
	ports, _ := media.NewPortAllocator(lo, 37000, 37998, 0)
	eng, err := New(core, Config{Listen: "127.0.0.1:0", Ports: ports, AuthGuard: guard,
		Tenants: []Tenant{{Name: "t", Domain: domain, Extensions: sexts}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return eng
}

type phoneResult struct {
	ok, tries int
	worst     time.Duration
}

// registerEvery registers ext 101 from 127.0.0.2 (challenge, answer) every
// interval until ctx ends.
func registerEvery(ctx context.Context, tb testing.TB, dst netip.AddrPort, interval time.Duration) phoneResult {
	var res phoneResult
	phone := newWirePeer(tb, "udp", dst, "127.0.0.2:0")
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for cseq := 1; ; cseq += 2 {
		select {
		case <-ctx.Done():
			return res
		case <-tick.C:
		}
		start := time.Now()
		res.tries++
		q := wireReq{method: sip.REGISTER, ruser: "101", rhost: domain, fromUser: "101", fromHost: domain, fromTag: "p",
			callID: "phone-reg", cseq: cseq, extra: []string{"Expires: 300"}}
		phone.sendRaw(phone.build(q))
		chal := phone.final(q.callID, sip.REGISTER, 2*time.Second)
		if chal == nil || chal.StatusCode != 401 {
			continue
		}
		q.cseq++
		q.extra = append(q.extra, "Authorization: "+answerDigest(tb, chal, "REGISTER", "sip:101@"+domain, "101", "pw-101", 1))
		phone.sendRaw(phone.build(q))
		if r := phone.final(q.callID, sip.REGISTER, 2*time.Second); r != nil && r.StatusCode == 200 {
			res.ok++
			res.worst = max(res.worst, time.Since(start))
		}
	}
}

// TestFloodGeneratorChild is BenchmarkRegisterFlood's attacker, run in a
// child process; it is skipped otherwise. Each socket gets a real
// challenge, then sends wrong answers to it (so every datagram costs the
// engine a digest check until its address is blocked) at SB_FLOOD_RATE/s
// in total, paced against the wall clock.
func TestFloodGeneratorChild(t *testing.T) {
	if os.Getenv("SB_FLOOD_CHILD") == "" {
		t.Skip("run by BenchmarkRegisterFlood")
	}
	dst := netip.MustParseAddrPort(os.Getenv("SB_FLOOD_DST"))
	sockets, rate := envInt("SB_FLOOD_SOCKETS", 1), envInt("SB_FLOOD_RATE", 5000)
	dur := time.Duration(envInt("SB_FLOOD_SECONDS", 10)) * time.Second
	var peers []*wirePeer
	var nonces []string
	for i := range sockets {
		local := "127.0.0.1:0"
		if sockets > 1 {
			local = fmt.Sprintf("127.0.1.%d:0", 10+i)
		}
		p := newWirePeer(t, "udp", dst, local)
		_ = p.udp.SetWriteBuffer(1 << 20)
		q := wireReq{method: sip.REGISTER, ruser: "100", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "a", callID: "flood"}
		p.sendRaw(p.build(q))
		chal := p.final("flood", sip.REGISTER, 2*time.Second)
		if chal == nil {
			t.Fatal("no challenge")
		}
		peers = append(peers, p)
		nonces = append(nonces, answerDigest(t, chal, "REGISTER", "sip:100@"+domain, "100", "guess", 1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	start, n := time.Now(), 0
	for ctx.Err() == nil {
		<-tick.C
		for float64(n) < time.Since(start).Seconds()*float64(rate) && ctx.Err() == nil {
			p := peers[n%len(peers)]
			// The same wrong answer with a growing nc: each is a new guess
			// to the engine.
			auth := bytes.Replace([]byte(nonces[n%len(peers)]), []byte("nc=00000001"), fmt.Appendf(nil, "nc=%08x", n+2), 1)
			msg := p.build(wireReq{method: sip.REGISTER, ruser: "100", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "a",
				callID: "flood", cseq: n + 2, extra: []string{"Authorization: " + string(auth)}})
			if _, err := p.udp.WriteToUDPAddrPort(msg, dst); err == nil {
				n++
			}
		}
	}
	fmt.Printf("SENT %d\n", n)
}
