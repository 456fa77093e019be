package media

import (
	"sync"
	"time"
)

// Mixer timing and buffering. A speaker's buffer must hold primeSamples
// before it is mixed, so normal jitter does not punch holes in its audio;
// a speaker far ahead (clock drift, a burst) is trimmed back.
const (
	mixTick      = 20 * time.Millisecond
	frameSamples = 160
	primeSamples = 2 * frameSamples
	mixMaxBuffer = 15 * frameSamples
	mixKeep      = 3 * frameSamples
)

// Mixer mixes 8 kHz audio among its members every 20 ms: each member
// that speaks contributes what its leg receives; each member that hears is
// sent the sum of every other speaker, in its own leg's codec. A
// conference has members that do both; a spy (monitor) is a hear-only
// member listening to the two speak-only legs of the call it watches,
// whose own audio keeps flowing through their relay untouched.
type Mixer struct {
	mu      sync.Mutex
	members map[*MixerMember]struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// MixerMember is one leg in a mixer.
type MixerMember struct {
	m           *Mixer
	leg         *Leg
	speak, hear bool
	untap       func()

	// guarded by m.mu
	buf    []int16
	primed bool
	muted  bool
}

// NewMixer starts a mixer; Close stops it.
func NewMixer() *Mixer {
	m := &Mixer{members: map[*MixerMember]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

// Add puts a leg into the mix. A hearing member's leg must not be in a
// Relay at the same time (both would send to it).
func (m *Mixer) Add(l *Leg, speak, hear bool) *MixerMember {
	mm := &MixerMember{m: m, leg: l, speak: speak, hear: hear}
	m.mu.Lock()
	m.members[mm] = struct{}{}
	m.mu.Unlock()
	if speak {
		mm.untap = l.AddTap(mm.feed)
		l.startLoop()
	}
	return mm
}

func (mm *MixerMember) feed(pcm []int16) {
	m := mm.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if mm.muted {
		return
	}
	mm.buf = append(mm.buf, pcm...)
	if len(mm.buf) > mixMaxBuffer {
		mm.buf = append(mm.buf[:0], mm.buf[len(mm.buf)-mixKeep:]...)
	}
	if len(mm.buf) >= primeSamples {
		mm.primed = true
	}
}

// SetMuted stops (or resumes) the member's contribution to the mix.
func (mm *MixerMember) SetMuted(muted bool) {
	mm.m.mu.Lock()
	mm.muted = muted
	mm.buf, mm.primed = mm.buf[:0], false
	mm.m.mu.Unlock()
}

// Remove takes the member out of the mix; it is idempotent.
func (mm *MixerMember) Remove() {
	m := mm.m
	m.mu.Lock()
	_, in := m.members[mm]
	delete(m.members, mm)
	m.mu.Unlock()
	if in && mm.untap != nil {
		mm.untap()
	}
}

// Len is the number of members.
func (m *Mixer) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.members)
}

// Close stops mixing; members' legs are left to their owners.
func (m *Mixer) Close() {
	m.once.Do(func() { close(m.stop) })
	<-m.done
	m.mu.Lock()
	ms := make([]*MixerMember, 0, len(m.members))
	for mm := range m.members {
		ms = append(ms, mm)
	}
	m.mu.Unlock()
	for _, mm := range ms {
		mm.Remove()
	}
}

func (m *Mixer) run() {
	defer close(m.done)
	t := time.NewTicker(mixTick)
	defer t.Stop()
	var total [frameSamples]int32
	type out struct {
		leg *Leg
		own []int16 // nil when the member does not speak
	}
	var outs []out
	var frames [][]int16 // reused per-speaker frames
	pcm := make([]int16, frameSamples)
	pkt := make([]byte, 12+frameSamples)
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		total = [frameSamples]int32{}
		outs = outs[:0]
		m.mu.Lock()
		i := 0
		for mm := range m.members {
			var own []int16
			if mm.speak && mm.primed && len(mm.buf) > 0 {
				if i == len(frames) {
					frames = append(frames, make([]int16, frameSamples))
				}
				own = frames[i][:frameSamples]
				i++
				n := copy(own, mm.buf)
				clear(own[n:])
				mm.buf = append(mm.buf[:0], mm.buf[n:]...)
				if len(mm.buf) == 0 {
					mm.primed = false // ran dry: wait for a cushion again
				}
				for k, s := range own {
					total[k] += int32(s)
				}
			}
			if mm.hear {
				outs = append(outs, out{leg: mm.leg, own: own})
			}
		}
		m.mu.Unlock()
		for _, o := range outs {
			for k := range pcm {
				v := total[k]
				if o.own != nil {
					v -= int32(o.own[k])
				}
				pcm[k] = clamp16(v)
			}
			o.leg.sendPCM(pcm, pkt)
		}
	}
}

// sendPCM encodes one 20 ms frame in the leg's codec and sends it as the
// leg's next RTP packet. pkt is scratch space of 12+160 bytes.
func (l *Leg) sendPCM(pcm []int16, pkt []byte) {
	codec := l.Codec()
	enc := encoder(codec)
	l.sendMu.Lock()
	l.header(pkt, codec.PT, l.marker)
	l.marker = false
	for i, s := range pcm {
		pkt[12+i] = enc(s)
	}
	l.ts += uint32(len(pcm))
	l.out.localAudio = true
	drop := false
	if n := l.dropEvery.Load(); n > 0 && l.seq%uint16(n) == 0 {
		drop = true
	}
	l.sendMu.Unlock()
	if !drop {
		l.write(pkt[:12+len(pcm)])
	}
}
