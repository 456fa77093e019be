package sms

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Sim is the demo gateway: it accepts every message at once and walks it
// through SENT to DELIVERED with delays like a real operator's; numbers
// ending in one of FailSuffixes end UNDELIVERED instead, the ones ending
// in RejectSuffixes are REJECTED at the hand-over. Nothing leaves the
// machine.
type Sim struct {
	// SendDelay is ACCEPTED → SENT, DeliverDelay SENT → final (defaults
	// 1 s and 2 s: an operator's delivery report takes seconds).
	SendDelay, DeliverDelay time.Duration
	FailSuffixes            []string
	RejectSuffixes          []string
	// Cost priced per message in grosze, when > 0.
	Cost int64

	mu     sync.Mutex
	closed bool
	timers map[*time.Timer]struct{}
	wg     sync.WaitGroup
}

// Defaults of the sim driver.
const (
	DefaultSimSendDelay    = time.Second
	DefaultSimDeliverDelay = 2 * time.Second
)

var _ Resumer = (*Sim)(nil)

// Kind implements Driver.
func (s *Sim) Kind() string { return "sim" }

func hasSuffix(number string, suffixes []string) bool {
	for _, x := range suffixes {
		if x != "" && strings.HasSuffix(number, x) {
			return true
		}
	}
	return false
}

// Send implements Driver.
func (s *Sim) Send(_ context.Context, m Message, rep Reporter) (Result, error) {
	if hasSuffix(m.To, s.RejectSuffixes) {
		return Result{State: Rejected, Ref: "sim-" + m.ID, Error: "number rejected by the operator (sim)"}, nil
	}
	res := Result{State: Accepted, Ref: "sim-" + m.ID}
	if s.Cost > 0 {
		res.Costed, res.Cost = true, s.Cost
	}
	m.State = Accepted
	s.Resume(m, rep)
	return res, nil
}

// Resume implements Resumer: the rest of the walk from m's state.
func (s *Sim) Resume(m Message, rep Reporter) {
	send, deliver := s.SendDelay, s.DeliverDelay
	if send <= 0 {
		send = DefaultSimSendDelay
	}
	if deliver <= 0 {
		deliver = DefaultSimDeliverDelay
	}
	final := Update{Tenant: m.Tenant, ID: m.ID, State: Delivered}
	if hasSuffix(m.To, s.FailSuffixes) {
		final.State, final.Error = Undelivered, "number unreachable (sim)"
	}
	switch m.State {
	case Accepted:
		s.after(send, func() {
			_ = rep.Report(context.Background(), Update{Tenant: m.Tenant, ID: m.ID, State: Sent})
			s.after(deliver, func() { _ = rep.Report(context.Background(), final) })
		})
	case Sent:
		s.after(deliver, func() { _ = rep.Report(context.Background(), final) })
	}
}

// after runs f after d unless the driver closes first.
func (s *Sim) after(d time.Duration, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.timers == nil {
		s.timers = map[*time.Timer]struct{}{}
	}
	s.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		_, live := s.timers[t]
		delete(s.timers, t)
		closed := s.closed
		s.mu.Unlock()
		if live && !closed {
			f()
		}
	})
	s.timers[t] = struct{}{}
}

// Close implements Driver: pending steps are dropped (they resume after
// a restart from the stored state).
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
		delete(s.timers, t)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
