package sipengine

import (
	"context"
	"errors"
	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

func recordingRig(t *testing.T, dirOpt func(*pbx.TenantEntry)) (*rig, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "sb.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	recDir := filepath.Join(dir, "recordings")
	return newRigWith(t, 5*time.Second, pbx.Options{Recordings: st, Artifacts: artifacts.New(recDir, "")}, dirOpt), recDir
}

func readWAV(t *testing.T, path string) media.WAV {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := media.ParseWAV(b)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRecordCallStereo: a 3 s recording of a call between a 1000 Hz
// caller and a 440 Hz callee is about 3 s long with each party on its own
// channel; bad requests get clear errors.
func TestRecordCallStereo(t *testing.T) {
	r, recDir := recordingRig(t, nil)
	caller := r.phonesTone(t, 100*time.Millisecond, 1000, "100")
	r.phonesTone(t, 100*time.Millisecond, 440, "101")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go caller.Call(ctx, "100", "101", 20*time.Second)
	ev := r.waitEvent(t, pbx.EvCallAnswered)
	callID := ev.Call.ID

	rec, err := r.core.StartRecording(ctx, "t", ev.Call.Channels[1].UniqueID, pbx.RecordOptions{Name: "sales-42", Stereo: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec.File != "sales-42.wav" || rec.CallID != callID || rec.Src != "100" || rec.Dst != "101" || rec.State != pbx.RecActive {
		t.Fatalf("started %+v", rec)
	}
	if _, err := r.core.StartRecording(ctx, "t", callID, pbx.RecordOptions{}); !errors.Is(err, pbx.ErrBusy) {
		t.Fatalf("second recording of the same call: %v", err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/b", "x\x00y", ".hidden", "..", "a..b", "x y"} {
		if _, err := r.core.StartRecording(ctx, "t", callID, pbx.RecordOptions{Name: bad}); !errors.Is(err, pbx.ErrInvalidArgument) {
			t.Fatalf("name %q: %v", bad, err)
		}
	}
	if _, err := r.core.StartRecording(ctx, "t", "no-such-call", pbx.RecordOptions{}); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("unknown call: %v", err)
	}
	if _, err := r.core.StartRecording(ctx, "other", callID, pbx.RecordOptions{}); !errors.Is(err, pbx.ErrUnknownTenant) {
		t.Fatalf("other tenant: %v", err)
	}
	time.Sleep(3 * time.Second)
	done, err := r.core.StopRecording(ctx, "t", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != pbx.RecDone || done.Millis < 2800 || done.Millis > 3300 {
		t.Fatalf("stopped %+v", done)
	}
	if _, err := r.core.StopRecording(ctx, "t", rec.ID); !errors.Is(err, pbx.ErrInvalidArgument) {
		t.Fatalf("stopping twice: %v", err)
	}
	path := filepath.Join(recDir, "t", "sales-42.wav")
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != done.Size {
		t.Fatalf("file %v, size %d vs indexed %d", err, fi.Size(), done.Size)
	}
	w := readWAV(t, path)
	if w.Channels != 2 || w.Duration() < 2800*time.Millisecond || w.Duration() > 3300*time.Millisecond {
		t.Fatalf("wav %d channels, %v", w.Channels, w.Duration())
	}
	cands := []float64{440, 1000, 425}
	mid := len(w.Samples[0]) / 2
	if f := media.DominantFrequency(w.Samples[0][mid-4000:mid+4000], 8000, cands); f != 1000 {
		t.Fatalf("left (caller) channel is %v Hz, want 1000", f)
	}
	if f := media.DominantFrequency(w.Samples[1][mid-4000:mid+4000], 8000, cands); f != 440 {
		t.Fatalf("right (callee) channel is %v Hz, want 440", f)
	}

	// A recording still running when the call ends is closed and indexed
	// before call.ended.
	rec2, err := r.core.StartRecording(ctx, "t", callID, pbx.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec2.File) != 32+1+10+4 || rec2.File[32] != '_' {
		t.Fatalf("generated name %q", rec2.File)
	}
	time.Sleep(time.Second)
	if err := r.core.Hangup(ctx, "t", callID); err != nil {
		t.Fatal(err)
	}
	stopped := r.waitEvent(t, pbx.EvRecordingStopped)
	if stopped.Recording.ID == rec.ID { // the first recording's event
		stopped = r.waitEvent(t, pbx.EvRecordingStopped)
	}
	if stopped.Recording.ID != rec2.ID || stopped.Recording.State != pbx.RecDone || stopped.Recording.Millis < 800 {
		t.Fatalf("recording at hangup: %+v", stopped.Recording)
	}
	r.waitEnded(t)
	mono := readWAV(t, filepath.Join(recDir, "t", rec2.File))
	if mono.Channels != 1 {
		t.Fatalf("default recording has %d channels", mono.Channels)
	}
	list, total, err := r.core.QueryRecordings(ctx, pbx.RecordingFilter{Tenant: "t", CallID: callID})
	if err != nil || total != 2 || list[0].ID != rec2.ID {
		t.Fatalf("index: %v %d %+v", err, total, list)
	}
}

// TestAlwaysRecordPolicy: calls of an extension marked record are
// recorded from the answer on without anyone asking.
func TestAlwaysRecordPolicy(t *testing.T) {
	r, recDir := recordingRig(t, recordExts("102"))
	f := r.phones(t, 100*time.Millisecond, "100", "102")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go f.Call(ctx, "100", "102", 1500*time.Millisecond)
	started := r.waitEvent(t, pbx.EvRecordingStarted)
	if started.Recording.By != "policy" || started.Recording.Dst != "102" {
		t.Fatalf("started %+v", started.Recording)
	}
	stopped := r.waitEvent(t, pbx.EvRecordingStopped)
	if stopped.Recording.Millis < 1000 {
		t.Fatalf("stopped %+v", stopped.Recording)
	}
	w := readWAV(t, filepath.Join(recDir, "t", stopped.Recording.File))
	if f := media.DominantFrequency(w.Samples[0], 8000, []float64{440, 1000, 425}); f != 440 {
		t.Fatalf("recorded %v Hz", f)
	}
}
