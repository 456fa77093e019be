package media

import (
	"context"
	"sync"
	"testing"
	"time"
)

// phone is a test party: a leg that plays a tone towards a mixer leg and
// keeps what it hears.
type phone struct {
	leg   *Leg
	mu    sync.Mutex
	heard []int16
}

func (p *phone) audio() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.heard...)
}

// pairs makes n (phone, switchboard-side leg) pairs wired to each other.
func pairs(t *testing.T, base int, n int) ([]*phone, []*Leg) {
	t.Helper()
	a, err := NewPortAllocator(lo, base, base+200, 0)
	if err != nil {
		t.Fatal(err)
	}
	var phones []*phone
	var legs []*Leg
	for range n {
		pl, _ := a.NewLeg()
		ml, _ := a.NewLeg()
		pl.SetRemote(ml.LocalAddr(), PCMU, 101)
		ml.SetRemote(pl.LocalAddr(), PCMU, 101)
		p := &phone{leg: pl}
		pl.OnAudio(func(pcm []int16) {
			p.mu.Lock()
			p.heard = append(p.heard, pcm...)
			p.mu.Unlock()
		})
		pl.StartReceiving()
		t.Cleanup(func() { pl.Close(); ml.Close() })
		phones = append(phones, p)
		legs = append(legs, ml)
	}
	return phones, legs
}

func playTones(t *testing.T, phones []*phone, freqs []float64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, p := range phones {
		if freqs[i] == 0 {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.leg.PlayTone(ctx, freqs[i]) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// TestMixerConference: three parties each hear the other two and not
// themselves.
func TestMixerConference(t *testing.T) {
	phones, legs := pairs(t, 36000, 3)
	freqs := []float64{440, 1000, 1700}
	playTones(t, phones, freqs)
	m := NewMixer()
	defer m.Close()
	for _, l := range legs {
		m.Add(l, true, true)
	}
	time.Sleep(1500 * time.Millisecond)
	for i, p := range phones {
		pcm := p.audio()
		if len(pcm) < 8000 {
			t.Fatalf("party %d heard only %d samples", i, len(pcm))
		}
		seg := pcm[len(pcm)-6000:]
		own := power(seg, freqs[i])
		for j, f := range freqs {
			if j == i {
				continue
			}
			if other := power(seg, f); other < 100*own {
				t.Fatalf("party %d: %v Hz (other) power %g is not far above its own %v Hz %g", i, f, other, freqs[i], own)
			}
		}
	}
	if m.Len() != 3 {
		t.Fatalf("members %d", m.Len())
	}
}

// TestMixerSpy: a hear-only listener gets both speak-only parties; the
// parties get nothing from the mixer.
func TestMixerSpy(t *testing.T) {
	phones, legs := pairs(t, 36400, 3)
	freqs := []float64{440, 1000, 0}
	playTones(t, phones, freqs)
	m := NewMixer()
	defer m.Close()
	m.Add(legs[0], true, false)
	m.Add(legs[1], true, false)
	spy := m.Add(legs[2], false, true)
	time.Sleep(1200 * time.Millisecond)
	heard := phones[2].audio()
	if len(heard) < 6000 {
		t.Fatalf("spy heard %d samples", len(heard))
	}
	seg := heard[len(heard)-4000:]
	if p440, p1000, p1700 := power(seg, 440), power(seg, 1000), power(seg, 1700); p440 < 100*p1700 || p1000 < 100*p1700 {
		t.Fatalf("spy does not hear both parties: 440 %g, 1000 %g, 1700 %g", p440, p1000, p1700)
	}
	if n := len(phones[0].audio()) + len(phones[1].audio()); n != 0 {
		t.Fatalf("monitored parties received %d samples from the mixer", n)
	}
	spy.Remove()
	spy.Remove()
	if m.Len() != 2 {
		t.Fatalf("members %d", m.Len())
	}
}
