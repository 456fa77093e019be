package dialect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// SMS is what the service needs of the text-message outbox (*sms.Outbox).
type SMS interface {
	Send(ctx context.Context, r sms.Request) (sms.Message, error)
	Get(ctx context.Context, tenant, id string) (sms.Message, error)
	List(ctx context.Context, f sms.Filter) ([]sms.Message, int, error)
}

var _ SMS = (*sms.Outbox)(nil)

// WithSMS lets the service send and read text messages.
func (s *Service) WithSMS(x SMS) *Service {
	s.sms = x
	return s
}

func (s *Service) smsOr() (SMS, error) {
	if s.sms == nil {
		return nil, fmt.Errorf("sms: %w: %w", sms.ErrNoGateway, pbx.ErrNotSupported)
	}
	return s.sms, nil
}

// smsScope is whose messages the principal may read: "" for every one of
// its tenant (sms.read, unless a restricted role), else only its own
// (a user or agent, or an account with sms.send but not sms.read).
func smsScope(p auth.Principal) (owner string, err error) {
	switch {
	case p.Can(auth.ReadSMS) && !p.Restricted():
		return "", nil
	case p.Can(auth.ReadSMS) || p.Can(auth.SendSMS):
		return OwnerKey(p), nil
	}
	return "", fmt.Errorf("your role may not read text messages (%s): %w", auth.ReadSMS, ErrForbidden)
}

// SendSMS sends a text message from the principal's tenant (sms.send);
// test validates it and answers with an id without sending (CloudPBX's
// test=true).
func (s *Service) SendSMS(ctx context.Context, p auth.Principal, to, body string, test bool) (sms.Message, error) {
	if err := need(p, auth.SendSMS); err != nil {
		return sms.Message{}, err
	}
	x, err := s.smsOr()
	if err != nil {
		return sms.Message{}, err
	}
	if !test && s.smsRates != nil {
		if err := s.smsRates.allow(p.Tenant, OwnerKey(p), time.Now()); err != nil {
			return sms.Message{}, err
		}
	}
	return x.Send(ctx, sms.Request{Tenant: p.Tenant, Owner: OwnerKey(p), To: to, Body: body, Test: test})
}

// Default SMS send limits (config limits.sms_per_minute_*).
const (
	DefaultSMSPerMinuteTenant = 300
	DefaultSMSPerMinuteUser   = 60
)

// WithSMSLimits bounds the messages sent a minute per tenant and per
// account (0: the default, -1: no limit): a leaked key or a looping
// script must not run up the gateway bill.
func (s *Service) WithSMSLimits(perTenant, perUser int) *Service {
	if perTenant == 0 {
		perTenant = DefaultSMSPerMinuteTenant
	}
	if perUser == 0 {
		perUser = DefaultSMSPerMinuteUser
	}
	s.smsRates = &smsRates{perTenant: perTenant, perUser: perUser, buckets: map[string]*rate.Limiter{}}
	return s
}

// smsRates are token buckets per tenant and per account.
type smsRates struct {
	perTenant, perUser int
	mu                 sync.Mutex
	buckets            map[string]*rate.Limiter
	hits               atomic.Uint64
}

func (r *smsRates) allow(tenant, owner string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	take := func(key string, perMinute int) bool {
		if perMinute < 0 {
			return true
		}
		b := r.buckets[key]
		if b == nil {
			if len(r.buckets) > 100_000 { // idle accounts' buckets are full: forget them
				clear(r.buckets)
			}
			b = rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(perMinute, 1))
			r.buckets[key] = b
		}
		return b.AllowN(now, 1)
	}
	if !take(tenant+"\x00"+owner, r.perUser) {
		r.hits.Add(1)
		return fmt.Errorf("sms: more than %d messages a minute by this account: %w", r.perUser, pbx.ErrLimit)
	}
	if !take(tenant, r.perTenant) {
		r.hits.Add(1)
		return fmt.Errorf("sms: more than %d messages a minute in this tenant: %w", r.perTenant, pbx.ErrLimit)
	}
	return nil
}

// SMSLimitHits counts messages refused by the send limits.
func (s *Service) SMSLimitHits() uint64 {
	if s.smsRates == nil {
		return 0
	}
	return s.smsRates.hits.Load()
}

// SMS reads one message of the principal's tenant; another account's
// message is "not found" to an account that may read only its own.
func (s *Service) SMS(ctx context.Context, p auth.Principal, id string) (sms.Message, error) {
	owner, err := smsScope(p)
	if err != nil {
		return sms.Message{}, err
	}
	x, err := s.smsOr()
	if err != nil {
		return sms.Message{}, err
	}
	m, err := x.Get(ctx, p.Tenant, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return sms.Message{}, fmt.Errorf("sms %s: %w", id, pbx.ErrNotFound)
		}
		return sms.Message{}, err
	}
	if owner != "" && m.Owner != owner {
		return sms.Message{}, fmt.Errorf("sms %s: %w", id, pbx.ErrNotFound)
	}
	return m, nil
}

// SMSList lists the principal's tenant's messages (its own only, when it
// may read no others), newest first.
func (s *Service) SMSList(ctx context.Context, p auth.Principal, f sms.Filter) ([]sms.Message, int, error) {
	owner, err := smsScope(p)
	if err != nil {
		return nil, 0, err
	}
	x, err := s.smsOr()
	if err != nil {
		return nil, 0, err
	}
	f.Tenant = p.Tenant
	if owner != "" {
		f.Owner = owner
	}
	return x.List(ctx, f)
}
