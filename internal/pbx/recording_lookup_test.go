package pbx

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type memRecs struct {
	mu sync.Mutex
	m  map[string]Recording
}

func (s *memRecs) InsertRecording(_ context.Context, r *Recording) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[r.ID] = *r
	return nil
}
func (s *memRecs) UpdateRecording(ctx context.Context, r *Recording) error {
	return s.InsertRecording(ctx, r)
}
func (s *memRecs) GetRecording(_ context.Context, tenant, id string) (Recording, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.m[id]; ok && r.Tenant == tenant {
		return r, nil
	}
	return Recording{}, ErrNotFound
}
func (s *memRecs) QueryRecordings(_ context.Context, f RecordingFilter) ([]Recording, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Recording
	for _, r := range s.m {
		if r.Tenant == f.Tenant && (f.File == "" || r.File == f.File) {
			out = append(out, r)
		}
	}
	return out, len(out), nil
}
func (s *memRecs) UnfinishedRecordings(context.Context) ([]Recording, error) { return nil, nil }

type memArts struct{}

func (memArts) NewRecording(tenant, file string) (string, error) { return "/nowhere/" + file, nil }
func (memArts) RecordingStat(string, string) (int64, time.Time, error) {
	return 0, time.Time{}, ErrNotFound
}

type recEngine struct{}

func (recEngine) Originate(context.Context, OriginateRequest) (Call, error) {
	return Call{}, ErrNotSupported
}
func (recEngine) Hangup(context.Context, string, string, string) error { return nil }
func (recEngine) StartRecording(context.Context, string, string, string, bool, func(RecordingResult)) (RecordingControl, error) {
	return nopControl{}, nil
}

type nopControl struct{}

func (nopControl) SetPaused(bool) {}
func (nopControl) Stop()          {}

// TestRecordingLookups: the recording running on a call is found by the
// call id, any of its channels' unique ids or names; a recording by its
// file name, in its own tenant only.
func TestRecordingLookups(t *testing.T) {
	c, err := NewCore(Directory{Tenants: []TenantEntry{{Name: "a", Extensions: []ExtensionEntry{{Number: "1001"}, {Number: "1002"}}}, {Name: "b"}}},
		&memCDRs{}, Options{Recordings: &memRecs{m: map[string]Recording{}}, Artifacts: memArts{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetEngine(recEngine{})
	ch, call, _ := c.NewCall("a", "1001", "1002", false, ChannelSpec{Peer: "1001", Exten: "1001", Dir: Inbound})
	ch2, _ := c.AddChannel("a", call.ID, ChannelSpec{Peer: "1002", Exten: "1002", Dir: Outbound})
	if _, err := c.ActiveRecording("a", call.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before recording: %v", err)
	}
	rec, err := c.StartRecording(context.Background(), "a", ch.UniqueID, RecordOptions{Name: "ticket-7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{call.ID, ch.UniqueID, ch2.UniqueID, ch2.Name} {
		if got, err := c.ActiveRecording("a", id); err != nil || got.ID != rec.ID {
			t.Errorf("active recording of %s: %+v %v", id, got, err)
		}
	}
	if got, err := c.RecordingByFile(context.Background(), "a", "ticket-7.wav"); err != nil || got.ID != rec.ID {
		t.Fatalf("by file: %+v %v", got, err)
	}
	if _, err := c.RecordingByFile(context.Background(), "b", "ticket-7.wav"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant's file: %v", err)
	}
}
