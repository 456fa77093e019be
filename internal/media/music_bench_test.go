package media

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// BenchmarkMusicOnHoldLoad plays music on hold to n legs for 5 s of real
// time over real sockets and reports the CPU each waiting caller costs.
// Run:
//
//	go test -run '^$' -bench BenchmarkMusicOnHoldLoad -benchtime 1x ./internal/media/
func BenchmarkMusicOnHoldLoad(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("callers=%d", n), func(b *testing.B) {
			for range b.N {
				sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
				if err != nil {
					b.Fatal(err)
				}
				alloc, _ := NewPortAllocator(lo, 41000, 41000+2*n+10, 0)
				pcm := DefaultMusic()
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				var legs []*Leg
				for range n {
					l, err := alloc.NewLeg()
					if err != nil {
						b.Fatal(err)
					}
					l.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort(), PCMU, 101)
					legs = append(legs, l)
				}
				start, cpu0 := time.Now(), cpuTime()
				for _, l := range legs {
					wg.Add(1)
					go func() { defer wg.Done(); l.PlayLoop(ctx, pcm, 30*time.Second, func() []int16 { return Beeps(3) }) }()
				}
				time.Sleep(5 * time.Second)
				cancel()
				wg.Wait()
				wall, cpu := time.Since(start), cpuTime()-cpu0
				var sent uint64
				for _, l := range legs {
					sent += l.Stats().PacketsSent
					l.Close()
				}
				sink.Close()
				b.ReportMetric(float64(cpu)/float64(wall)/float64(n)*100, "%core/caller")
				b.ReportMetric(float64(sent)/float64(n)/wall.Seconds(), "pkts/s/caller")
			}
		})
	}
}
