package pbx

import (
	"context"
	"fmt"
)

// MediaReporter is an optional engine capability: what the media path
// has measured so far on a live call (codec, addresses, packets, loss,
// jitter, MOS), in the shape a CDR will carry at the end.
type MediaReporter interface {
	LiveQuality(tenant, callID string) (Quality, error)
}

// LiveQuality is what the engine measured so far on a live call;
// ErrNotSupported when the engine cannot say.
func (c *Core) LiveQuality(tenant, callID string) (Quality, error) {
	c.mu.Lock()
	eng := c.engine
	c.mu.Unlock()
	m, ok := eng.(MediaReporter)
	if !ok {
		return Quality{}, fmt.Errorf("live quality: %w", ErrNotSupported)
	}
	return m.LiveQuality(tenant, callID)
}

// CapturePauser is an optional engine capability: pause the audio of a
// live call's capture (its PCAP keeps RTP headers, not audio), as
// VoIPmonitor's pausecall does for its sniffed calls.
type CapturePauser interface {
	PauseCapture(ctx context.Context, tenant, callID string, paused bool) error
}

// PauseCapture pauses or resumes the audio of a live call's capture;
// ErrNotSupported when the engine cannot.
func (c *Core) PauseCapture(ctx context.Context, tenant, callID string, paused bool) error {
	c.mu.Lock()
	eng := c.engine
	c.mu.Unlock()
	p, ok := eng.(CapturePauser)
	if !ok {
		return fmt.Errorf("pause capture: %w", ErrNotSupported)
	}
	return p.PauseCapture(ctx, tenant, callID, paused)
}
