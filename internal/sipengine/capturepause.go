package sipengine

import (
	"context"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// PauseCapture implements pbx.CapturePauser: while paused, the call's
// PCAP keeps its RTP packets' headers (timing, sequence) but not their
// audio.
func (e *Engine) PauseCapture(ctx context.Context, tenant, callID string, paused bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pause capture: %w", err)
	}
	e.mu.Lock()
	var found *call
	for _, c := range e.calls {
		if c.t.Name == tenant && c.id == callID {
			found = c
			break
		}
	}
	e.mu.Unlock()
	if found == nil {
		return fmt.Errorf("pause capture %s: %w", callID, pbx.ErrNotFound)
	}
	found.mu.Lock()
	cc := found.capture
	found.mu.Unlock()
	if cc == nil || !e.caps.cfg.RTP {
		return fmt.Errorf("pause capture %s: the call's RTP is not captured: %w", callID, pbx.ErrNotFound)
	}
	cc.paused.Store(paused)
	return nil
}

// rtpHeaderOnly cuts an RTP packet to its header (fixed part, CSRCs and
// extension), clearing the padding bit: an empty frame.
func rtpHeaderOnly(pkt []byte) []byte {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return pkt // not RTP: keep as it is
	}
	n := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 && len(pkt) >= n+4 {
		n += 4 + 4*(int(pkt[n+2])<<8|int(pkt[n+3]))
	}
	if n > len(pkt) {
		return pkt
	}
	out := append([]byte(nil), pkt[:n]...)
	out[0] &^= 0x20
	return out
}

var _ pbx.CapturePauser = (*Engine)(nil)
