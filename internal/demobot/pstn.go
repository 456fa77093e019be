package demobot

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// PSTNConfig configures the simulated carrier.
type PSTNConfig struct {
	ListenIP      netip.Addr
	Ports         *media.PortAllocator
	AnswerDelay   time.Duration // default 1 s
	NoAnswerAfter time.Duration // numbers ending 408 ring this long, then 408; default 30 s
	ToneHz        float64       // default 425, so tests tell carrier audio from a bot's
	Logger        *slog.Logger
}

// PSTN is the demo's carrier: it answers any number like a bot, except
// numbers ending in 486 (busy), 408 (no answer), 404 (congestion) and 480
// (unavailable).
type PSTN struct {
	ep *endpoint
}

// NewPSTN binds the carrier's socket.
func NewPSTN(cfg PSTNConfig) (*PSTN, error) {
	if cfg.AnswerDelay == 0 {
		cfg.AnswerDelay = time.Second
	}
	if cfg.NoAnswerAfter == 0 {
		cfg.NoAnswerAfter = 30 * time.Second
	}
	if cfg.ToneHz == 0 {
		cfg.ToneHz = 425
	}
	ep, err := newEndpoint(cfg.ListenIP, cfg.Ports, "pstn", cfg.Logger)
	if err != nil {
		return nil, err
	}
	ep.policy = func(number string) (int, time.Duration, float64) {
		switch {
		case strings.HasSuffix(number, "486"):
			return 486, 0, 0
		case strings.HasSuffix(number, "404"):
			return 404, 0, 0
		case strings.HasSuffix(number, "480"):
			return 480, 0, 0
		case strings.HasSuffix(number, "408"):
			return 408, cfg.NoAnswerAfter, 0
		}
		return 0, cfg.AnswerDelay, cfg.ToneHz
	}
	return &PSTN{ep: ep}, nil
}

// Start serves SIP.
func (p *PSTN) Start(context.Context) error {
	p.ep.serve()
	return nil
}

// Addr is the carrier's SIP address.
func (p *PSTN) Addr() netip.AddrPort { return p.ep.addr }

// ActiveCalls is the number of calls in progress.
func (p *PSTN) ActiveCalls() int { return p.ep.active() }

// Close hangs up and stops.
func (p *PSTN) Close() error { return p.ep.close() }
