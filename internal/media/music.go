package media

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"
)

// DefaultMusic is the generated music on hold: a slow C-E-G-E arpeggio,
// soft and clearly unlike ringback (425 Hz) or a busy tone, so a caller
// knows they are waiting, not ringing.
func DefaultMusic() []int16 {
	notes := []float64{261.63, 329.63, 392.00, 329.63}
	const noteLen = 8000 * 4 / 10 // 400 ms
	out := make([]int16, 0, len(notes)*noteLen)
	for _, f := range notes {
		for i := range noteLen {
			env := math.Min(1, math.Min(float64(i), float64(noteLen-i))/400) // 50 ms fades
			out = append(out, int16(5000*env*math.Sin(2*math.Pi*f*float64(i)/8000)))
		}
	}
	return out
}

// LoadMusic reads an 8 kHz 16-bit PCM WAV for music on hold (first
// channel), refusing anything it would have to resample.
func LoadMusic(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("music on hold: %w", err)
	}
	w, err := ParseWAV(b)
	if err != nil {
		return nil, fmt.Errorf("music on hold %s: %w", path, err)
	}
	if w.SampleRate != sampleRate || len(w.Samples[0]) < frameSamples {
		return nil, fmt.Errorf("music on hold %s: need 8000 Hz and at least 20 ms, got %d Hz, %d samples", path, w.SampleRate, len(w.Samples[0]))
	}
	return w.Samples[0], nil
}

// PlayLoop sends pcm in 20 ms frames, looping, until ctx ends. Every
// interrupt period (if > 0) it asks announce() for audio to play first (a
// caller's queue position), then resumes the loop where it left off.
func (l *Leg) PlayLoop(ctx context.Context, pcm []int16, every time.Duration, announce func() []int16) {
	if len(pcm) < frameSamples {
		pcm = DefaultMusic()
	}
	tick := time.NewTicker(mixTick)
	defer tick.Stop()
	pkt := make([]byte, 12+frameSamples)
	frame := make([]int16, frameSamples)
	pos := 0
	next := time.Now().Add(every)
	var insert []int16
	for {
		if every > 0 && announce != nil && time.Now().After(next) {
			next = time.Now().Add(every)
			insert = announce()
		}
		if len(insert) > 0 {
			n := copy(frame, insert)
			clear(frame[n:])
			insert = insert[n:]
		} else {
			for i := range frame {
				frame[i] = pcm[pos]
				pos = (pos + 1) % len(pcm)
			}
		}
		l.sendPCM(frame, pkt)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Beeps is the announcement used when no recorded one exists: n short
// 1 kHz beeps (at most 9), then a pause before the music resumes.
func Beeps(n int) []int16 { return beepTrain(min(max(n, 0), 9)) }

// beepTrain is n 120 ms beeps at 1 kHz with 180 ms pauses, then 500 ms of
// silence before the music resumes.
func beepTrain(n int) []int16 {
	var out []int16
	for range n {
		for i := range 960 {
			out = append(out, int16(6000*math.Sin(2*math.Pi*1000*float64(i)/8000)))
		}
		out = append(out, make([]int16, 1440)...)
	}
	return append(out, make([]int16, 4000)...)
}
