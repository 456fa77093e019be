package dialect

import (
	"context"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// CallQuality is what the media path has measured so far on a live call
// (codec, addresses, packets, loss, jitter, MOS), for monitors' active
// call lists; restricted roles see their own calls only. It is read
// through an optional interface of the core (*pbx.Core has it), so test
// cores need not implement it: without it, ErrNotSupported.
func (s *Service) CallQuality(p auth.Principal, callID string) (pbx.Quality, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return pbx.Quality{}, err
	}
	if err := s.ownCall(p, callID, "see"); err != nil {
		return pbx.Quality{}, err
	}
	lq, ok := s.core.(interface {
		LiveQuality(tenant, callID string) (pbx.Quality, error)
	})
	if !ok {
		return pbx.Quality{}, fmt.Errorf("call quality: %w", pbx.ErrNotSupported)
	}
	return lq.LiveQuality(p.Tenant, callID)
}

// PauseCapture pauses or resumes the audio of a live call's capture
// (recordings.control; restricted roles: their own calls).
func (s *Service) PauseCapture(ctx context.Context, p auth.Principal, callID string, paused bool) error {
	if err := need(p, auth.Record); err != nil {
		return err
	}
	if err := s.ownCall(p, callID, "pause"); err != nil {
		return err
	}
	cp, ok := s.core.(interface {
		PauseCapture(ctx context.Context, tenant, callID string, paused bool) error
	})
	if !ok {
		return fmt.Errorf("pause capture: %w", pbx.ErrNotSupported)
	}
	return cp.PauseCapture(ctx, p.Tenant, callID, paused)
}
