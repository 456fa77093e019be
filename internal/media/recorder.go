package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Recorder timing. Audio is written against the wall clock, not packet
// arrival, so a recording lasts exactly as long as the call did and a
// party that stops sending (hold, packet loss) becomes silence instead of
// shifting the other party's audio. The writer trails the clock by
// playoutDelay so that packets arriving with normal jitter are in the
// buffer when their samples are due.
const (
	sampleRate   = 8000
	recorderTick = 20 * time.Millisecond
	playoutDelay = 60 * time.Millisecond
	// maxBuffered: beyond 3 s a party is far ahead of the writer — the
	// disk stalled it (page-cache write-back under load) or the party
	// sends faster than real time; older audio is then dropped.
	maxBuffered   = sampleRate * 3
	keepOnOverrun = sampleRate * 60 / 1000
	headerEvery   = 50 // ticks between WAV header updates (1 s)
	// diskChunk: audio reaches the file in writes of this size (and at
	// every header update). 8 KiB is half a second of mono audio: a few
	// writes a second per recording, and 24 KiB less per recorded call
	// than a 32 KiB buffer (800 recorded calls measured 250 KiB each).
	diskChunk = 8 << 10
	// A party's buffer normally holds the playout delay; one that grew
	// past shrinkAbove samples during a stall is reallocated once drained.
	playoutSamples = int(playoutDelay * sampleRate / time.Second)
	shrinkAbove    = 4 * 1024
	wavHeaderLen   = 44
	activeWindow   = 200 * time.Millisecond // a party that sent this recently and has nothing buffered is a gap
)

// RecordingResult is what a finished recording measured.
type RecordingResult struct {
	Duration time.Duration
	Size     int64 // file size including the header
	// GapSamples counts samples written as silence because a party that
	// was sending had nothing buffered when they were due: the measure of
	// "audio gaps" under load.
	GapSamples int64
	// DroppedSamples counts audio thrown away because a party was more
	// than 3 s ahead of the writer (the writer fell behind, or the
	// party sent faster than real time).
	DroppedSamples int64
	// FedSamples counts what each party delivered, for diagnosing drops.
	FedSamples [2]int64
}

// Recorder writes two parties' audio to a 16-bit PCM WAV file: mixed to
// mono, or stereo with party 0 left and party 1 right. The header is
// rewritten every second so a file cut short by a crash still plays.
type Recorder struct {
	f      *os.File
	bw     *bufio.Writer
	stereo bool
	start  time.Time
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	buf      [2][]int16
	lastFeed [2]time.Time
	paused   bool
	samples  int64 // per channel, written so far
	gaps     int64
	dropped  int64
	fed      [2]int64
	err      error

	closeOnce sync.Once
	res       RecordingResult

	// Hand-off to the disk goroutine.
	qmu       sync.Mutex
	queue     [][]byte
	queued    int
	headerDue bool
	last      bool
	wake      chan struct{}
	flushed   chan struct{}
	onDisk    int64 // data bytes written; flush goroutine only
}

// NewRecorder creates path (which must not exist) and starts writing.
func NewRecorder(path string, stereo bool) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	r := &Recorder{f: f, bw: bufio.NewWriterSize(f, diskChunk), stereo: stereo, start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1), flushed: make(chan struct{})}
	if _, err := r.bw.Write(wavHeader(r.channels(), 0)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write recording header: %w", err)
	}
	go r.run()
	return r, nil
}

func (r *Recorder) channels() int {
	if r.stereo {
		return 2
	}
	return 1
}

// Feed hands the recorder audio heard from party 0 or 1. It never blocks
// on the disk; pcm is copied.
func (r *Recorder) Feed(party int, pcm []int16) {
	if party < 0 || party > 1 {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	last := r.lastFeed[party]
	r.lastFeed[party] = now
	r.fed[party] += int64(len(pcm))
	if r.paused {
		return
	}
	b := r.buf[party]
	if len(b) == 0 && (last.IsZero() || now.Sub(last) > activeWindow) {
		// The party starts (or restarts after silence): place its audio at
		// the current point of the timeline, one playout delay ahead of the
		// writer, instead of letting the writer swallow it at once and run
		// without a cushion.
		if lead := r.dueAt(now) + playoutDelay.Nanoseconds()*sampleRate/int64(time.Second) - r.samples; lead > 0 {
			b = append(b, make([]int16, min(lead, maxBuffered/2))...)
		}
	}
	b = append(b, pcm...)
	if len(b) > maxBuffered {
		r.dropped += int64(len(b) - keepOnOverrun)
		b = append(b[:0], b[len(b)-keepOnOverrun:]...)
	}
	r.buf[party] = b
}

// SetPaused pauses or resumes. Paused stretches are written as silence,
// so the file's timeline stays the call's (VoIPmonitor's pausecall).
func (r *Recorder) SetPaused(p bool) {
	r.mu.Lock()
	r.paused = p
	if p {
		r.buf[0], r.buf[1] = r.buf[0][:0], r.buf[1][:0]
	}
	r.mu.Unlock()
}

// maxQueued bounds audio waiting for the disk: 10 s per recording. A
// slower disk costs audio beyond that (counted in DroppedSamples), never
// the timeline goroutine's pace.
const maxQueued = sampleRate * 2 * 10

func (r *Recorder) run() {
	defer close(r.done)
	go r.flushLoop()
	t := time.NewTicker(recorderTick)
	defer t.Stop()
	out := make([]byte, 0, 4096)
	for tick := 1; ; tick++ {
		select {
		case <-r.stop:
			out = r.writeDue(time.Now().Add(playoutDelay), out, true) // the tail: everything up to now
			r.enqueue(out, true, true)
			<-r.flushed
			return
		case now := <-t.C:
			out = r.writeDue(now, out, false)
			r.enqueue(out, tick%headerEvery == 0, false)
		}
	}
}

// enqueue hands a chunk to the disk goroutine; the timeline goroutine
// never waits for the disk.
func (r *Recorder) enqueue(b []byte, header, last bool) {
	r.qmu.Lock()
	if len(b) > 0 {
		if r.queued+len(b) > maxQueued*r.channels() {
			r.mu.Lock()
			r.dropped += int64(len(b) / (2 * r.channels()))
			r.mu.Unlock()
		} else {
			r.queue = append(r.queue, append([]byte(nil), b...))
			r.queued += len(b)
		}
	}
	r.headerDue = r.headerDue || header
	r.last = r.last || last
	r.qmu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// flushLoop writes queued audio to the file and keeps its header current.
func (r *Recorder) flushLoop() {
	defer close(r.flushed)
	for range r.wake {
		r.qmu.Lock()
		q, header, last := r.queue, r.headerDue, r.last
		r.queue, r.queued, r.headerDue = nil, 0, false
		r.qmu.Unlock()
		for _, c := range q {
			if _, err := r.bw.Write(c); err != nil {
				r.setErr(fmt.Errorf("write recording: %w", err))
			}
			r.onDisk += int64(len(c))
		}
		if header || last {
			r.updateHeader()
		}
		if last {
			r.finish()
			return
		}
	}
}

// writeDue writes the samples due by now-playoutDelay. The final call
// writes the tail, whose missing samples are not gaps but the call's end.
func (r *Recorder) writeDue(now time.Time, out []byte, final bool) []byte {
	due := r.dueAt(now)
	r.mu.Lock()
	n := due - r.samples
	if n <= 0 || r.err != nil {
		r.mu.Unlock()
		return out
	}
	ch := r.channels()
	need := int(n) * ch * 2
	if cap(out) < need {
		out = make([]byte, 0, need)
	}
	out = out[:need]
	var take [2][]int16
	for p := range 2 {
		b := r.buf[p]
		k := min(len(b), int(n))
		take[p] = b[:k]
		if k < int(n) && !final && !r.paused && now.Sub(r.lastFeed[p]) < activeWindow+playoutDelay {
			r.gaps += n - int64(k)
		}
	}
	for i := range int(n) {
		var s0, s1 int16
		if i < len(take[0]) {
			s0 = take[0][i]
		}
		if i < len(take[1]) {
			s1 = take[1][i]
		}
		if ch == 2 {
			binary.LittleEndian.PutUint16(out[4*i:], uint16(s0))
			binary.LittleEndian.PutUint16(out[4*i+2:], uint16(s1))
		} else {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(clamp16(int32(s0)+int32(s1))))
		}
	}
	for p := range 2 {
		rest := r.buf[p][len(take[p]):]
		if cap(r.buf[p]) > shrinkAbove && len(rest) < cap(r.buf[p])/4 {
			// A stall grew the buffer; the party is caught up again, so give
			// the memory back instead of keeping it for the call's life.
			r.buf[p] = append(make([]int16, 0, max(2*len(rest), playoutSamples*2)), rest...)
			continue
		}
		r.buf[p] = append(r.buf[p][:0], rest...)
	}
	r.samples = due
	r.mu.Unlock()
	return out
}

// dueAt is how many samples per channel are due by now.
func (r *Recorder) dueAt(now time.Time) int64 {
	return int64(now.Sub(r.start)-playoutDelay) * sampleRate / int64(time.Second)
}

// Stats reports the figures so far of a running recording.
func (r *Recorder) Stats() RecordingResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RecordingResult{Duration: time.Duration(r.samples) * time.Second / sampleRate,
		Size: wavHeaderLen + r.samples*int64(r.channels())*2, GapSamples: r.gaps, DroppedSamples: r.dropped}
}

func clamp16(v int32) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

func (r *Recorder) setErr(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// updateHeader flushes and patches the RIFF and data sizes in place.
func (r *Recorder) updateHeader() {
	if err := r.bw.Flush(); err != nil {
		r.setErr(fmt.Errorf("flush recording: %w", err))
		return
	}
	data := r.onDisk // only the flush goroutine calls this
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(36+data))
	if _, err := r.f.WriteAt(b[:], 4); err != nil {
		r.setErr(fmt.Errorf("update recording header: %w", err))
		return
	}
	binary.LittleEndian.PutUint32(b[:], uint32(data))
	if _, err := r.f.WriteAt(b[:], 40); err != nil {
		r.setErr(fmt.Errorf("update recording header: %w", err))
	}
}

func (r *Recorder) finish() {
	r.updateHeader()
	if err := r.f.Sync(); err != nil {
		r.setErr(fmt.Errorf("sync recording: %w", err))
	}
	if err := r.f.Close(); err != nil {
		r.setErr(fmt.Errorf("close recording: %w", err))
	}
	frames := r.onDisk / int64(2*r.channels())
	r.mu.Lock()
	r.res = RecordingResult{
		Duration:   time.Duration(frames) * time.Second / sampleRate,
		Size:       wavHeaderLen + r.onDisk,
		GapSamples: r.gaps, DroppedSamples: r.dropped, FedSamples: r.fed,
	}
	r.mu.Unlock()
}

// Close stops the recorder, writes the tail and closes the file. It is
// idempotent and returns the same result every time.
func (r *Recorder) Close() (RecordingResult, error) {
	r.closeOnce.Do(func() { close(r.stop) })
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res, r.err
}

// wavHeader is the canonical 44-byte header of 8 kHz 16-bit PCM.
func wavHeader(channels int, dataLen uint32) []byte {
	h := make([]byte, wavHeaderLen)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], sampleRate)
	binary.LittleEndian.PutUint32(h[28:], uint32(sampleRate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	return h
}

// WAV is a decoded 16-bit PCM WAV file.
type WAV struct {
	Channels   int
	SampleRate int
	Samples    [][]int16 // per channel
}

// Duration of the audio.
func (w WAV) Duration() time.Duration {
	if len(w.Samples) == 0 || w.SampleRate == 0 {
		return 0
	}
	return time.Duration(len(w.Samples[0])) * time.Second / time.Duration(w.SampleRate)
}

// ErrNotWAV is returned by ParseWAV for anything but 16-bit PCM WAV.
var ErrNotWAV = errors.New("not a 16-bit PCM WAV file")

// ParseWAV reads a 16-bit PCM WAV file, walking its chunks. Tests use it
// to check what a recording holds; configured music-on-hold files use it
// too, so it must refuse bad input cleanly.
func ParseWAV(b []byte) (WAV, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return WAV{}, ErrNotWAV
	}
	var w WAV
	haveFmt := false
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4 : p+8]))
		body := b[p+8:]
		if size < 0 || size > len(body) {
			size = len(body) // a header cut short by a crash: take what is there
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 || binary.LittleEndian.Uint16(body[0:2]) != 1 || binary.LittleEndian.Uint16(body[14:16]) != 16 {
				return WAV{}, ErrNotWAV
			}
			w.Channels = int(binary.LittleEndian.Uint16(body[2:4]))
			w.SampleRate = int(binary.LittleEndian.Uint32(body[4:8]))
			if w.Channels < 1 || w.Channels > 8 || w.SampleRate <= 0 {
				return WAV{}, ErrNotWAV
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return WAV{}, ErrNotWAV
			}
			frames := size / (2 * w.Channels)
			w.Samples = make([][]int16, w.Channels)
			for c := range w.Channels {
				w.Samples[c] = make([]int16, frames)
			}
			for i := range frames {
				for c := range w.Channels {
					w.Samples[c][i] = int16(binary.LittleEndian.Uint16(body[2*(i*w.Channels+c):]))
				}
			}
			return w, nil
		}
		p += 8 + size + size%2
	}
	return WAV{}, ErrNotWAV
}
