package pbx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RecordingState is where a recording is in its life.
type RecordingState string

const (
	RecActive RecordingState = "recording"
	RecPaused RecordingState = "paused"
	RecDone   RecordingState = "stopped"
	// RecInterrupted: switchboard stopped (crash, kill) while recording;
	// the file holds audio up to the last header update (1 s).
	RecInterrupted RecordingState = "interrupted"
	RecFailed      RecordingState = "failed"
)

// Recording is a WAV file of a call, indexed in the store.
type Recording struct {
	ID       string
	Tenant   string
	CallID   string // the call's unique id, as in its CDR
	Src      string
	Dst      string
	File     string // name inside the tenant's recording directory
	Stereo   bool
	State    RecordingState
	By       string // "api", "policy" or the user who started it
	Started  time.Time
	Ended    time.Time
	Millis   int64
	Size     int64
	ErrorMsg string
}

// RecordingFilter selects recordings; zero values mean no constraint.
type RecordingFilter struct {
	Tenant string
	CallID string
	Number string // src or dst
	File   string // the file name, exactly
	From   time.Time
	To     time.Time
	Limit  int
	Offset int
}

// RecordingStore indexes recordings.
type RecordingStore interface {
	InsertRecording(ctx context.Context, r *Recording) error
	UpdateRecording(ctx context.Context, r *Recording) error
	GetRecording(ctx context.Context, tenant, id string) (Recording, error)
	QueryRecordings(ctx context.Context, f RecordingFilter) ([]Recording, int, error)
	// UnfinishedRecordings lists recordings left active or paused by a
	// previous run, for recovery at start-up.
	UnfinishedRecordings(ctx context.Context) ([]Recording, error)
}

// RecordingResult is what the engine measured when a recording ended.
type RecordingResult struct {
	Duration time.Duration
	Size     int64
	Err      error
}

// RecordingControl steers one running recording in the engine.
type RecordingControl interface {
	SetPaused(paused bool)
	// Stop ends the recording and returns once the file is closed; the
	// engine's done callback has run by then.
	Stop()
}

// Recorder is the optional engine capability of recording a call's audio
// (both parties) into a new file at path. done is called exactly once,
// when the recording ends by Stop or because the call ended.
type Recorder interface {
	StartRecording(ctx context.Context, tenant, callID, path string, stereo bool, done func(RecordingResult)) (RecordingControl, error)
}

// RecordOptions are a client's choices for a new recording.
type RecordOptions struct {
	// Name is the file name; generated as <32 hex>_<unix seconds>.wav when
	// empty. ".wav" is appended when missing.
	Name   string
	Stereo bool
	By     string
}

// ValidRecordingName checks a client-given file name. Unsafe names are
// refused, not rewritten, so a client never finds its file under another
// name than the one it asked for.
func ValidRecordingName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("recording name is empty: %w", ErrInvalidArgument)
	}
	if len(name) > 128 {
		return "", fmt.Errorf("recording name longer than 128 bytes: %w", ErrInvalidArgument)
	}
	if name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("recording name %q starts with a dot: %w", name, ErrInvalidArgument)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return "", fmt.Errorf("recording name %q: only letters, digits, '-', '_' and '.' are allowed (no paths): %w", name, ErrInvalidArgument)
		}
	}
	if strings.Contains(name, "..") {
		return "", fmt.Errorf("recording name %q contains '..': %w", name, ErrInvalidArgument)
	}
	if !strings.HasSuffix(strings.ToLower(name), ".wav") {
		name += ".wav"
	}
	return name, nil
}

func generatedRecordingName(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s_%d.wav", hex.EncodeToString(b[:]), now.Unix())
}

func newRecordingID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// activeRecording is a running recording as the core tracks it.
type activeRecording struct {
	rec  Recording
	ctl  RecordingControl
	done chan struct{}
}

// ArtifactStore holds recording files (internal/artifacts): the core asks
// it where to record and how big a file a crash left is, and does no file
// I/O itself.
type ArtifactStore interface {
	// NewRecording returns the path to record tenant's file into, its
	// directory created; ErrBusy when such a file exists.
	NewRecording(tenant, file string) (string, error)
	// RecordingStat is a recording file's size and modification time.
	RecordingStat(tenant, file string) (int64, time.Time, error)
}

// canRecord reports why recordings are not possible here, if they are not.
func (c *Core) canRecord() error {
	if c.arts == nil || c.recs == nil {
		return fmt.Errorf("recording: no recording store configured: %w", ErrNotSupported)
	}
	return nil
}

// StartRecording records the call of id (call id, channel unique id or
// channel name). A call is recorded at most once at a time.
func (c *Core) StartRecording(ctx context.Context, tenant, id string, opts RecordOptions) (Recording, error) {
	if err := c.canRecord(); err != nil {
		return Recording{}, err
	}
	var err error
	name := generatedRecordingName(c.now())
	if opts.Name != "" {
		if name, err = ValidRecordingName(opts.Name); err != nil {
			return Recording{}, err
		}
	}
	if opts.By == "" {
		opts.By = "api"
	}
	c.mu.Lock()
	t := c.tenants[tenant]
	eng := c.engine
	var cs *callState
	if t != nil {
		cs = t.resolveCallLocked(id)
	}
	var rec Recording
	if cs != nil {
		if _, busy := c.activeRecs[cs.call.ID]; busy {
			c.mu.Unlock()
			return Recording{}, fmt.Errorf("record %s: the call is already being recorded: %w", id, ErrBusy)
		}
		rec = Recording{ID: newRecordingID(), Tenant: tenant, CallID: cs.call.ID, Src: cs.call.From, Dst: cs.call.To,
			File: name, Stereo: opts.Stereo, State: RecActive, By: opts.By, Started: c.now()}
		c.activeRecs[cs.call.ID] = nil // reserved while the file is set up
	}
	c.mu.Unlock()
	switch {
	case t == nil:
		return Recording{}, fmt.Errorf("record: %w", ErrUnknownTenant)
	case cs == nil:
		return Recording{}, fmt.Errorf("record %s: no such live call or channel: %w", id, ErrNotFound)
	}
	release := func() {
		c.mu.Lock()
		delete(c.activeRecs, rec.CallID)
		c.mu.Unlock()
	}
	r, ok := eng.(Recorder)
	if !ok {
		release()
		return Recording{}, fmt.Errorf("record: %w", ErrNotSupported)
	}
	path, err := c.arts.NewRecording(tenant, name)
	if err != nil {
		release()
		return Recording{}, fmt.Errorf("record: %w", err)
	}
	if err := c.recs.InsertRecording(ctx, &rec); err != nil {
		release()
		return Recording{}, fmt.Errorf("record: index: %w", err)
	}
	ar := &activeRecording{rec: rec, done: make(chan struct{})}
	ctl, err := r.StartRecording(ctx, tenant, rec.CallID, path, opts.Stereo, func(res RecordingResult) { c.recordingEnded(ar, res) })
	if err != nil {
		release()
		rec.State, rec.ErrorMsg, rec.Ended = RecFailed, err.Error(), c.now()
		_ = c.recs.UpdateRecording(context.WithoutCancel(ctx), &rec)
		return Recording{}, fmt.Errorf("record %s: %w", id, err)
	}
	c.mu.Lock()
	ar.ctl = ctl
	if _, still := c.activeRecs[rec.CallID]; still {
		c.activeRecs[rec.CallID] = ar
	}
	c.publishLocked(tenant, Event{Type: EvRecordingStarted, Recording: &rec})
	c.mu.Unlock()
	return rec, nil
}

// recordingEnded is the engine's done callback: index the final figures,
// then tell subscribers.
func (c *Core) recordingEnded(ar *activeRecording, res RecordingResult) {
	c.mu.Lock()
	rec := ar.rec
	if cur := c.activeRecs[rec.CallID]; cur == ar || cur == nil {
		delete(c.activeRecs, rec.CallID)
	}
	c.mu.Unlock()
	rec.State, rec.Ended, rec.Millis, rec.Size = RecDone, c.now(), res.Duration.Milliseconds(), res.Size
	if res.Err != nil {
		rec.State, rec.ErrorMsg = RecFailed, res.Err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.recs.UpdateRecording(ctx, &rec); err != nil {
		c.log.Error("recording index update failed", "recording", rec.ID, "err", err)
	}
	c.mu.Lock()
	c.publishLocked(rec.Tenant, Event{Type: EvRecordingStopped, Recording: &rec})
	c.mu.Unlock()
	close(ar.done)
}

// activeRecording finds a running recording by its id.
func (c *Core) findActiveRecording(tenant, id string) *activeRecording {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ar := range c.activeRecs {
		if ar != nil && ar.rec.Tenant == tenant && ar.rec.ID == id {
			return ar
		}
	}
	return nil
}

// ActiveRecording is the recording running on the call that id names (a
// call id, channel unique id or channel name), if any: WebTAPI's
// call_record_stop names the channel, not the recording.
func (c *Core) ActiveRecording(tenant, id string) (Recording, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return Recording{}, fmt.Errorf("active recording: %w", ErrUnknownTenant)
	}
	if cs := t.resolveCallLocked(id); cs != nil {
		if ar := c.activeRecs[cs.call.ID]; ar != nil {
			return ar.rec, nil
		}
	}
	return Recording{}, fmt.Errorf("no recording running on %s: %w", id, ErrNotFound)
}

// RecordingByFile finds a tenant's recording by its file name (the name
// WebTAPI's call_record_get and CloudPBX's /record/{id} use).
func (c *Core) RecordingByFile(ctx context.Context, tenant, file string) (Recording, error) {
	if c.recs == nil {
		return Recording{}, fmt.Errorf("recording: %w", ErrNotSupported)
	}
	rs, _, err := c.recs.QueryRecordings(ctx, RecordingFilter{Tenant: tenant, File: file, Limit: 1})
	if err != nil {
		return Recording{}, fmt.Errorf("recording %q: %w", file, err)
	}
	if len(rs) == 0 {
		return Recording{}, fmt.Errorf("recording %q: %w", file, ErrNotFound)
	}
	return rs[0], nil
}

// StopRecording ends a running recording and returns its final index entry.
func (c *Core) StopRecording(ctx context.Context, tenant, id string) (Recording, error) {
	ar := c.findActiveRecording(tenant, id)
	if ar == nil {
		return c.recordingNotRunning(ctx, tenant, id, "stop")
	}
	ar.ctl.Stop()
	select {
	case <-ar.done:
	case <-ctx.Done():
		return Recording{}, ctx.Err()
	}
	return c.recs.GetRecording(ctx, tenant, id)
}

// PauseRecording pauses (paused=true) or resumes a running recording.
func (c *Core) PauseRecording(ctx context.Context, tenant, id string, paused bool) (Recording, error) {
	verb := "resume"
	if paused {
		verb = "pause"
	}
	ar := c.findActiveRecording(tenant, id)
	if ar == nil {
		return c.recordingNotRunning(ctx, tenant, id, verb)
	}
	ar.ctl.SetPaused(paused)
	c.mu.Lock()
	ar.rec.State = RecActive
	if paused {
		ar.rec.State = RecPaused
	}
	rec := ar.rec
	c.mu.Unlock()
	if err := c.recs.UpdateRecording(ctx, &rec); err != nil {
		return Recording{}, fmt.Errorf("%s recording: %w", verb, err)
	}
	c.mu.Lock()
	c.publishLocked(tenant, Event{Type: EvRecordingState, Recording: &rec})
	c.mu.Unlock()
	return rec, nil
}

func (c *Core) recordingNotRunning(ctx context.Context, tenant, id, verb string) (Recording, error) {
	if c.recs == nil {
		return Recording{}, fmt.Errorf("%s recording: %w", verb, ErrNotSupported)
	}
	if _, err := c.recs.GetRecording(ctx, tenant, id); err != nil {
		return Recording{}, fmt.Errorf("%s recording %s: %w", verb, id, ErrNotFound)
	}
	return Recording{}, fmt.Errorf("%s recording %s: it is not running: %w", verb, id, ErrInvalidArgument)
}

// GetRecording returns a recording's index entry.
func (c *Core) GetRecording(ctx context.Context, tenant, id string) (Recording, error) {
	if c.recs == nil {
		return Recording{}, fmt.Errorf("recording: %w", ErrNotSupported)
	}
	r, err := c.recs.GetRecording(ctx, tenant, id)
	if err != nil {
		return Recording{}, fmt.Errorf("recording %s: %w", id, err)
	}
	return r, nil
}

// QueryRecordings lists indexed recordings.
func (c *Core) QueryRecordings(ctx context.Context, f RecordingFilter) ([]Recording, int, error) {
	if c.recs == nil {
		return nil, 0, fmt.Errorf("recordings: %w", ErrNotSupported)
	}
	return c.recs.QueryRecordings(ctx, f)
}

// RecoverRecordings marks recordings a previous run left open as
// interrupted, with the size their file has now. Call it once at start-up,
// before any call can be recorded.
func (c *Core) RecoverRecordings(ctx context.Context) (int, error) {
	if c.recs == nil {
		return 0, nil
	}
	open, err := c.recs.UnfinishedRecordings(ctx)
	if err != nil {
		return 0, fmt.Errorf("recover recordings: %w", err)
	}
	var errs []error
	for _, r := range open {
		r.State = RecInterrupted
		if c.arts != nil {
			if size, mod, err := c.arts.RecordingStat(r.Tenant, r.File); err == nil {
				r.Size, r.Ended = size, mod
				if data := size - 44; data > 0 {
					ch := int64(1)
					if r.Stereo {
						ch = 2
					}
					r.Millis = data / (16 * ch)
				}
			}
		}
		if r.Ended.IsZero() {
			r.Ended = r.Started
		}
		if err := c.recs.UpdateRecording(ctx, &r); err != nil {
			errs = append(errs, err)
		}
	}
	return len(open), errors.Join(errs...)
}

// autoRecord starts a recording when the call's policy asks for one; it
// runs when the call is answered.
func (c *Core) autoRecord(tenant, callID string) {
	if c.recs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.StartRecording(ctx, tenant, callID, RecordOptions{By: "policy"}); err != nil && !errors.Is(err, ErrBusy) {
		c.log.Warn("always-record failed", "tenant", tenant, "call_id", callID, "err", err)
	}
}

// wantsRecordingLocked applies the always-record policy: any extension or
// trunk of the call configured to be recorded.
func (t *tenantState) wantsRecordingLocked(cs *callState) bool {
	for _, ch := range cs.channels {
		if ch.IsTrunk && t.recordTrunks[ch.Peer] {
			return true
		}
		if e := t.exts[ch.Exten]; e != nil && e.record {
			return true
		}
	}
	return false
}

// resolveCallLocked finds a live call by call id, channel unique id or
// channel name.
func (t *tenantState) resolveCallLocked(id string) *callState {
	if cs := t.calls[id]; cs != nil && !cs.ended {
		return cs
	}
	if ch := t.channelLocked(id); ch != nil {
		if cs := t.calls[ch.CallID]; cs != nil && !cs.ended {
			return cs
		}
	}
	return nil
}

// channelLocked finds a live channel by unique id or channel name: every
// API names channels both ways.
func (t *tenantState) channelLocked(id string) *Channel {
	if ch := t.channels[id]; ch != nil {
		return ch
	}
	return t.byName[id]
}
