package media

import (
	"fmt"
	"math"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRecordingLoad runs n recordings at once for 5 s of real time,
// each fed two parties' 20 ms frames on the wall clock as the legs' taps
// would (G.711 decoding included), and reports the CPU each recorded call
// costs and whether any audio went missing. Run it with -benchtime 1x:
//
//	go test -run '^$' -bench BenchmarkRecordingLoad -benchtime 1x ./internal/media/
func BenchmarkRecordingLoad(b *testing.B) {
	for _, n := range []int{100, 500, 1000, 2000} {
		b.Run(fmt.Sprintf("calls=%d", n), func(b *testing.B) {
			for range b.N {
				recordingLoad(b, n, 5*time.Second)
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func recordingLoad(b *testing.B, n int, d time.Duration) {
	dir := b.TempDir()
	recs := make([]*Recorder, n)
	for i := range recs {
		r, err := NewRecorder(filepath.Join(dir, fmt.Sprint(i, ".wav")), i%2 == 0)
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = EncodeUlaw(int16(6000 * math.Sin(float64(i)*2*math.Pi*440/8000)))
	}
	pcm := make([]int16, 160)
	start, cpu0 := time.Now(), cpuTime()
	t := time.NewTicker(20 * time.Millisecond)
	late := 0
	for time.Since(start) < d {
		tick := time.Now()
		for _, r := range recs {
			for p := range 2 {
				for i, c := range payload {
					pcm[i] = DecodeUlaw(c)
				}
				r.Feed(p, pcm)
			}
		}
		if time.Since(tick) > 20*time.Millisecond {
			late++
		}
		<-t.C
	}
	t.Stop()
	var gaps int64
	var audio time.Duration
	for _, r := range recs {
		gaps += r.Stats().GapSamples // before Close: closing 2,000 files takes time the others would count
	}
	for _, r := range recs {
		res, err := r.Close()
		if err != nil {
			b.Fatal(err)
		}
		audio += res.Duration
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(cpu)/float64(wall)/float64(n)*100, "%core/call")
	b.ReportMetric(float64(cpu)/float64(wall)*100, "%core")
	b.ReportMetric(float64(gaps)/8, "gap-ms")
	b.ReportMetric(float64(late), "late-ticks")
	b.ReportMetric(audio.Seconds()/float64(n)/d.Seconds(), "audio/wall")
}
