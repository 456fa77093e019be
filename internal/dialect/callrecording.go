package dialect

import (
	"context"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// activeRecordings is the optional core capability of naming the
// recording running on a call by the call's channel (*pbx.Core has it):
// WebTAPI's call_record_stop names the channel, never the recording. It is
// read through an interface so test cores need not implement it.
type activeRecordings interface {
	ActiveRecording(tenant, id string) (pbx.Recording, error)
}

// StopCallRecording stops the recording running on the call that id names
// (a call id, channel unique id or channel name). It needs the right to
// record and, for restricted roles, that the call is their own, exactly
// as starting one does; no right to read the recordings index is needed,
// so a user who may record a call may also stop it.
func (s *Service) StopCallRecording(ctx context.Context, p auth.Principal, id string) (pbx.Recording, error) {
	if err := need(p, auth.Record); err != nil {
		return pbx.Recording{}, err
	}
	if err := s.ownCall(p, id, "stop recordings of"); err != nil {
		return pbx.Recording{}, err
	}
	ar, ok := s.core.(activeRecordings)
	if !ok {
		return pbx.Recording{}, fmt.Errorf("stop recording by call: %w", pbx.ErrNotSupported)
	}
	rec, err := ar.ActiveRecording(p.Tenant, id)
	if err != nil {
		return pbx.Recording{}, err
	}
	return s.core.StopRecording(ctx, p.Tenant, rec.ID)
}
