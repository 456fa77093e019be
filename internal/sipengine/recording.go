package sipengine

import (
	"context"
	"fmt"
	"sync"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// callRecording is one running recording of a call: a media.Recorder fed
// by taps on whichever legs the call has (a transfer brings new ones).
type callRecording struct {
	c    *call
	rec  *media.Recorder
	done func(pbx.RecordingResult)

	mu       sync.Mutex
	removes  []func()
	attached map[*leg]bool
	once     sync.Once
}

// attach taps l's received audio into the recording as the leg's party.
func (r *callRecording) attach(l *leg) {
	if l == nil || l.rtp == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.attached[l] || r.removes == nil {
		return // already tapped (a transfer re-seats a kept leg), or stopped
	}
	r.attached[l] = true
	r.removes = append(r.removes, l.rtp.AddTap(func(pcm []int16) { r.rec.Feed(int(l.party.Load()), pcm) }))
}

func (r *callRecording) SetPaused(p bool) { r.rec.SetPaused(p) }

// Stop implements pbx.RecordingControl.
func (r *callRecording) Stop() {
	r.once.Do(func() {
		r.mu.Lock()
		removes := r.removes
		r.removes = nil
		r.mu.Unlock()
		for _, f := range removes {
			f()
		}
		r.c.mu.Lock()
		for i, x := range r.c.recs {
			if x == r {
				r.c.recs = append(r.c.recs[:i], r.c.recs[i+1:]...)
				break
			}
		}
		r.c.mu.Unlock()
		res, err := r.rec.Close()
		if res.DroppedSamples > 0 {
			r.c.e.counts.recordingDropped.Add(uint64(res.DroppedSamples))
			r.c.e.log.Warn("recording dropped audio", "call_id", r.c.id, "dropped_ms", res.DroppedSamples/8,
				"written_ms", res.Duration.Milliseconds(), "caller_fed_ms", res.FedSamples[0]/8, "callee_fed_ms", res.FedSamples[1]/8)
		}
		r.done(pbx.RecordingResult{Duration: res.Duration, Size: res.Size, Err: err})
	})
}

// StartRecording implements pbx.Recorder. Party 0 (left in stereo) is
// the call's first leg, the caller; party 1 the dialled side.
func (e *Engine) StartRecording(ctx context.Context, tenant, callID, path string, stereo bool, done func(pbx.RecordingResult)) (pbx.RecordingControl, error) {
	if err := ctx.Err(); err != nil { // the caller gave up: start nothing
		return nil, fmt.Errorf("record: %w", err)
	}
	e.mu.Lock()
	c := e.calls[callID]
	if c != nil && c.t.Name != tenant {
		c = nil
	}
	var a, b *leg
	if c != nil {
		a, b = c.a, c.b
	}
	e.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("record call %s: %w", callID, pbx.ErrNotFound)
	}
	rec, err := media.NewRecorder(path, stereo)
	if err != nil {
		return nil, fmt.Errorf("record call %s: %w", callID, err)
	}
	r := &callRecording{c: c, rec: rec, done: done, attached: map[*leg]bool{}, removes: []func(){}}
	c.mu.Lock()
	ended := c.finished
	if !ended {
		c.recs = append(c.recs, r)
	}
	c.mu.Unlock()
	if ended {
		_, _ = rec.Close()
		return nil, fmt.Errorf("record call %s: the call is ending: %w", callID, pbx.ErrNotFound)
	}
	r.attach(a)
	r.attach(b)
	return r, nil
}

var _ pbx.Recorder = (*Engine)(nil)

// stopRecordings ends the call's recordings; finish calls it before the
// CDR is written so the recording index is final when call.ended is seen.
func (c *call) stopRecordings() {
	c.mu.Lock()
	c.finished = true
	recs := append([]*callRecording(nil), c.recs...)
	c.mu.Unlock()
	for _, r := range recs {
		r.Stop()
	}
}
