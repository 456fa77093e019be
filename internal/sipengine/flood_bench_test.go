package sipengine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
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
// REGISTERs a second (SB_FLOOD_RATE, SB_FLOOD_SECONDS to change) from one
// socket or from 200 addresses, while a phone on another address
// registers every 500 ms, and prints the process CPU and what the phone
// got. The flood generator runs in this process too, so its cost is
// measured alone first (against a socket nobody reads) and subtracted.
// Figures are printed, not asserted:
//
//	go test -run '^$' -bench BenchmarkRegisterFlood -benchtime 1x ./internal/sipengine/
func BenchmarkRegisterFlood(b *testing.B) {
	rate := envInt("SB_FLOOD_RATE", 5000)
	dur := time.Duration(envInt("SB_FLOOD_SECONDS", 10)) * time.Second
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	base := floodOnce(b, sink.LocalAddr().(*net.UDPAddr).AddrPort(), nil, 1, rate, dur)
	b.Logf("generator alone: %.2f s CPU in %v (%.0f %% of a core), %d datagrams (%.0f/s)", base.cpu.Seconds(), dur, 100*base.cpu.Seconds()/dur.Seconds(), base.sent, float64(base.sent)/dur.Seconds())
	for _, mode := range []struct {
		name    string
		sockets int
		guard   AuthGuardConfig
	}{
		{"one-socket/guard", 1, AuthGuardConfig{}},
		{"200-addresses/guard", 200, AuthGuardConfig{}},
		{"one-socket/no-guard", 1, AuthGuardConfig{AddrFailures: -1}},
	} {
		eng := floodEngine(b, mode.guard)
		res := floodOnce(b, eng.Addr(), eng, mode.sockets, rate, dur)
		engCPU := res.cpu - base.cpu
		b.Logf("%-20s total %.2f s CPU, engine ~%.2f s (%.0f %% of a core); %d bad REGISTERs sent (%.0f/s); phone: %d/%d registered, worst %v",
			mode.name, res.cpu.Seconds(), engCPU.Seconds(), 100*engCPU.Seconds()/dur.Seconds(), res.sent, float64(res.sent)/dur.Seconds(), res.ok, res.tries, res.worst)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		eng.Close(ctx)
		cancel()
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
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

type floodResult struct {
	cpu       time.Duration
	sent      int
	ok, tries int
	worst     time.Duration
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floodOnce sends wrong-password REGISTERs for ext 100 to dst at rate/s
// from sockets attackers for dur; with eng set, a phone (ext 101 on
// 127.0.0.2) registers every 500 ms meanwhile.
func floodOnce(b *testing.B, dst netip.AddrPort, eng *Engine, sockets, rate int, dur time.Duration) floodResult {
	var conns []*net.UDPConn
	for i := range sockets {
		ip := net.IPv4(127, 0, 0, 1)
		if sockets > 1 {
			ip = net.IPv4(127, 0, 1, byte(10+i))
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			b.Fatal(err)
		}
		_ = c.SetWriteBuffer(1 << 20)
		defer c.Close()
		conns = append(conns, c)
	}
	// A plausible attacker answers a real challenge with guesses; each
	// socket's nonce is one we issued to it, so every datagram costs the
	// engine a digest check until the address is blocked.
	nonces := make([]string, len(conns))
	for i, c := range conns {
		nonces[i] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		if eng != nil {
			nonces[i] = eng.newNonce(domain, "udp:"+c.LocalAddr().String(), time.Now())
		}
	}
	var res floodResult
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	if eng != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			phone := newWirePeer(b, "udp", eng.Addr(), "127.0.0.2:0")
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for cseq := 1; ; cseq += 2 {
				select {
				case <-ctx.Done():
					return
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
				q.extra = append(q.extra, "Authorization: "+answerDigest(b, chal, "REGISTER", "sip:101@"+domain, "101", "pw-101", 1))
				phone.sendRaw(phone.build(q))
				if r := phone.final(q.callID, sip.REGISTER, 2*time.Second); r != nil && r.StatusCode == 200 {
					res.ok++
					res.worst = max(res.worst, time.Since(start))
				}
			}
		}()
	}
	cpu0 := cpuNow()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	w := wirePeer{t: b, network: "udp"}
	start := time.Now()
	for n := 0; ctx.Err() == nil; {
		<-tick.C
		// Catch up with the wall clock, so a busy machine still sends rate/s.
		for float64(n) < time.Since(start).Seconds()*float64(rate) {
			c, nonce := conns[n%len(conns)], nonces[n%len(conns)]
			w.local = c.LocalAddr().(*net.UDPAddr).AddrPort()
			auth := fmt.Sprintf(`Digest username="100", realm="%s", nonce="%s", uri="sip:100@%s", response="%032x", algorithm=MD5, qop=auth, nc=%08x, cnonce="x"`,
				domain, nonce, domain, n, n+1)
			msg := w.build(wireReq{method: sip.REGISTER, ruser: "100", rhost: domain, fromUser: "100", fromHost: domain, fromTag: "a",
				callID: "flood", cseq: n + 1, extra: []string{"Authorization: " + auth}})
			if _, err := c.WriteToUDPAddrPort(msg, dst); err == nil {
				res.sent++
			}
			n++
		}
	}
	wg.Wait()
	res.cpu = cpuNow() - cpu0
	return res
}
