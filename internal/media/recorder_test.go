package media

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// feedTone feeds party a tone in real time, 20 ms frames, for d.
func feedTone(r *Recorder, party int, freq float64, d time.Duration, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	phase := 0.0
	frame := make([]int16, 160)
	for range int(d / (20 * time.Millisecond)) {
		for i := range frame {
			frame[i] = int16(6000 * math.Sin(phase))
			phase += 2 * math.Pi * freq / 8000
		}
		r.Feed(party, frame)
		<-t.C
	}
}

func TestRecorderStereoTimelineAndPause(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	r, err := NewRecorder(path, true)
	if err != nil {
		t.Fatal(err)
	}
	d0, d1 := make(chan struct{}), make(chan struct{})
	go feedTone(r, 0, 440, 1500*time.Millisecond, d0)
	go feedTone(r, 1, 1000, 1500*time.Millisecond, d1)
	time.Sleep(600 * time.Millisecond)
	r.SetPaused(true)
	time.Sleep(400 * time.Millisecond)
	r.SetPaused(false)
	<-d0
	<-d1
	res, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != res.Size {
		t.Fatalf("result size %d, file %d", res.Size, len(b))
	}
	w, err := ParseWAV(b)
	if err != nil {
		t.Fatal(err)
	}
	if w.Channels != 2 || w.SampleRate != 8000 {
		t.Fatalf("format %d ch %d Hz", w.Channels, w.SampleRate)
	}
	if d := w.Duration(); d < 1400*time.Millisecond || d > 1700*time.Millisecond {
		t.Fatalf("duration %v, want about 1.5 s", d)
	}
	cands := []float64{440, 1000, 425}
	left, right := w.Samples[0][1600:4000], w.Samples[1][1600:4000] // 0.2-0.5 s
	if f := DominantFrequency(left, 8000, cands); f != 440 {
		t.Fatalf("left channel %v Hz, want 440", f)
	}
	if f := DominantFrequency(right, 8000, cands); f != 1000 {
		t.Fatalf("right channel %v Hz, want 1000", f)
	}
	// The paused stretch (0.6-1.0 s of wall clock, minus the playout
	// delay's offset) must be silence; check its core.
	for _, s := range w.Samples[0][int(0.72*8000):int(0.9*8000)] {
		if s != 0 {
			t.Fatalf("audio written while paused")
		}
	}
	if f := DominantFrequency(w.Samples[0][int(1.15*8000):int(1.35*8000)], 8000, cands); f != 440 {
		t.Fatalf("after resume left channel %v Hz", f)
	}
}

func TestRecorderMonoMixesBothParties(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.wav")
	r, err := NewRecorder(path, false)
	if err != nil {
		t.Fatal(err)
	}
	d0, d1 := make(chan struct{}), make(chan struct{})
	go feedTone(r, 0, 440, 600*time.Millisecond, d0)
	go feedTone(r, 1, 1000, 600*time.Millisecond, d1)
	<-d0
	<-d1
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	w, err := ParseWAV(b)
	if err != nil || w.Channels != 1 {
		t.Fatalf("%v %d channels", err, w.Channels)
	}
	seg := w.Samples[0][1000:4000]
	p440, p1000, p425 := power(seg, 440), power(seg, 1000), power(seg, 2000)
	if p440 < 100*p425 || p1000 < 100*p425 {
		t.Fatalf("mono mix lacks a party: 440 %g, 1000 %g, 2000 %g", p440, p1000, p425)
	}
}

func power(pcm []int16, f float64) float64 { return TonePower(pcm, 8000, f) }

func TestRecorderRefusesExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.wav")
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRecorder(path, false); err == nil {
		t.Fatal("overwrote an existing file")
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Fatal("existing file changed")
	}
}

func TestParseWAVRejectsJunk(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("RIFF"), []byte("RIFF\x00\x00\x00\x00WAVEdata\x04\x00\x00\x00abcd"),
		append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x03\x00"), make([]byte, 14)...)} {
		if _, err := ParseWAV(b); err == nil {
			t.Fatalf("accepted %q", b)
		}
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wavHeader(1, 0))
	f.Add(append(wavHeader(2, 8), 1, 2, 3, 4, 5, 6, 7, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWAV(b)
		if err == nil && (w.Channels < 1 || len(w.Samples) != w.Channels) {
			t.Fatalf("inconsistent %+v", w)
		}
	})
}

// TestRecorderReleasesBufferAfterStall: a party that delivered a second
// of audio at once (a stalled reader catching up) grows its buffer; once
// the writer has drained it, the buffer shrinks back instead of staying
// that size for the rest of the call.
func TestRecorderReleasesBufferAfterStall(t *testing.T) {
	r, err := NewRecorder(filepath.Join(t.TempDir(), "x.wav"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Feed(0, make([]int16, 8000))
	r.mu.Lock()
	grown := cap(r.buf[0])
	r.mu.Unlock()
	if grown < 8000 {
		t.Fatalf("buffer cap %d after a 1 s burst", grown)
	}
	// The writer takes audio at real-time pace: the backlog is gone after
	// a second; then the party talks normally again.
	time.Sleep(1300 * time.Millisecond)
	done := make(chan struct{})
	feedTone(r, 0, 440, 200*time.Millisecond, done)
	<-done
	r.mu.Lock()
	now := cap(r.buf[0])
	r.mu.Unlock()
	if now > shrinkAbove {
		t.Fatalf("buffer cap %d samples after draining (grew to %d), want <= %d", now, grown, shrinkAbove)
	}
}
