package pbx

import "fmt"

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
