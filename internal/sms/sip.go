package sms

import (
	"context"
	"fmt"
	"time"
)

// MessageSender sends one SIP MESSAGE out a trunk and returns the final
// response's code and reason; err is a transport failure or timeout. The
// node wires the SIP engine's method (sipengine.Engine.SendMessage), so
// this package stays free of the engine.
type MessageSender interface {
	SendMessage(ctx context.Context, tenant, trunk, from, to, body string) (code int, reason string, err error)
}

// SIP sends messages as SIP MESSAGE requests (RFC 3428) through one of
// the tenant's trunks; the final response is the delivery report, as
// carriers' SMS interworking answers only once the message left.
type SIP struct {
	Sender MessageSender
	Trunk  string
	// Timeout bounds one transaction (default 32 s, SIP's Timer F).
	Timeout time.Duration
}

// DefaultSIPTimeout is a non-INVITE transaction's Timer F.
const DefaultSIPTimeout = 32 * time.Second

// Kind implements Driver.
func (s *SIP) Kind() string { return "sip" }

// Close implements Driver.
func (s *SIP) Close() error { return nil }

// Send implements Driver: 2xx is DELIVERED; 404, 484 and 604 (no such
// number) UNDELIVERED; 403 and 603 REJECTED; 408, 480, 486, 500, 503 and
// 504, timeouts and transport errors are retried; anything else FAILS.
func (s *SIP) Send(ctx context.Context, m Message, _ Reporter) (Result, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSIPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, reason, err := s.Sender.SendMessage(ctx, m.Tenant, s.Trunk, m.From, m.To, m.Body)
	if err != nil {
		return Result{}, transient("sip message via %s: %v", s.Trunk, err)
	}
	desc := fmt.Sprintf("SIP %d %s", code, clip(reason))
	switch {
	case code >= 200 && code < 300:
		return Result{State: Delivered, Ref: m.ID}, nil
	case code == 404 || code == 484 || code == 604:
		return Result{State: Undelivered, Ref: m.ID, Error: desc}, nil
	case code == 403 || code == 603:
		return Result{State: Rejected, Ref: m.ID, Error: desc}, nil
	case code == 408 || code == 480 || code == 486 || code == 500 || code == 503 || code == 504:
		return Result{}, transient("%s", desc)
	}
	return Result{}, fmt.Errorf("trunk %s answered %s", s.Trunk, desc)
}
