package media

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkConferenceLoad runs n participants in rooms of 10 for 5 s of
// real time: every 20 ms each participant's frame is decoded and fed to
// its mixer (as its leg's tap would) and each mixer sends every member its
// mix as RTP over a real socket. It reports CPU per participant. Run:
//
//	go test -run '^$' -bench BenchmarkConferenceLoad -benchtime 1x ./internal/media/
func BenchmarkConferenceLoad(b *testing.B) {
	for _, n := range []int{100, 300, 600} {
		b.Run(fmt.Sprintf("participants=%d", n), func(b *testing.B) {
			for range b.N {
				conferenceLoad(b, n, 5*time.Second)
			}
		})
	}
}

func conferenceLoad(b *testing.B, n int, d time.Duration) {
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	sinkAddr := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	alloc, err := NewPortAllocator(lo, 40000, 40000+2*n+10, 0)
	if err != nil {
		b.Fatal(err)
	}
	var members []*MixerMember
	var mixers []*Mixer
	for i := range n {
		if i%10 == 0 {
			mixers = append(mixers, NewMixer())
		}
		l, err := alloc.NewLeg()
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		l.SetRemote(sinkAddr, PCMU, 101)
		members = append(members, mixers[len(mixers)-1].Add(l, true, true))
	}
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = EncodeUlaw(int16(6000 * math.Sin(float64(i)*2*math.Pi*440/8000)))
	}
	pcm := make([]int16, 160)
	start, cpu0 := time.Now(), cpuTime()
	t := time.NewTicker(20 * time.Millisecond)
	for time.Since(start) < d {
		for _, mm := range members {
			for i, c := range payload {
				pcm[i] = DecodeUlaw(c)
			}
			mm.feed(pcm)
		}
		<-t.C
	}
	t.Stop()
	wall, cpu := time.Since(start), cpuTime()-cpu0
	var sent uint64
	for _, mm := range members {
		sent += mm.leg.Stats().PacketsSent
	}
	for _, m := range mixers {
		m.Close()
	}
	b.ReportMetric(float64(cpu)/float64(wall)/float64(n)*100, "%core/participant")
	b.ReportMetric(float64(cpu)/float64(wall)*100, "%core")
	b.ReportMetric(float64(sent)/float64(n)/wall.Seconds(), "pkts/s/participant")
}
