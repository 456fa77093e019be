package dialect

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/devices"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ErrDevice: a device (relay, camera) did not answer; each dialect renders
// it as its own "device error".
var ErrDevice = devices.ErrDevice

// Relays is what the service needs of the relays (*devices.Relays).
type Relays interface {
	List(ctx context.Context, tenant string) []devices.Relay
	Get(ctx context.Context, tenant string, id int) (devices.Relay, error)
	Set(ctx context.Context, tenant string, id int, on bool, pulse time.Duration) (devices.Relay, error)
}

var _ Relays = (*devices.Relays)(nil)

// WithRelays lets the service switch and read relays.
func (s *Service) WithRelays(r Relays) *Service {
	s.relays = r
	return s
}

// mayReadRelays: switching a relay needs relays.switch; reading its state
// also passes for sensors.read (a monitoring account).
func mayReadRelays(p auth.Principal) error {
	if p.Can(auth.SwitchRelays) || p.Can(auth.ReadSensors) {
		return nil
	}
	return fmt.Errorf("your role may not see relays: %w", ErrForbidden)
}

func (s *Service) relaysOr() (Relays, error) {
	if s.relays == nil {
		return nil, fmt.Errorf("relays: %w", pbx.ErrNotSupported)
	}
	return s.relays, nil
}

// RelayList lists the tenant's relays with their states.
func (s *Service) RelayList(ctx context.Context, p auth.Principal) ([]devices.Relay, error) {
	if err := mayReadRelays(p); err != nil {
		return nil, err
	}
	r, err := s.relaysOr()
	if err != nil {
		return nil, err
	}
	return r.List(ctx, p.Tenant), nil
}

// Relay reads one relay from its device.
func (s *Service) Relay(ctx context.Context, p auth.Principal, id int) (devices.Relay, error) {
	if err := mayReadRelays(p); err != nil {
		return devices.Relay{}, err
	}
	r, err := s.relaysOr()
	if err != nil {
		return devices.Relay{}, err
	}
	return r.Get(ctx, p.Tenant, id)
}

// SetRelay switches a relay; on with a pulse (0: the relay's default,
// negative: none) is a door opener.
func (s *Service) SetRelay(ctx context.Context, p auth.Principal, id int, on bool, pulse time.Duration) (devices.Relay, error) {
	if err := need(p, auth.SwitchRelays); err != nil {
		return devices.Relay{}, err
	}
	r, err := s.relaysOr()
	if err != nil {
		return devices.Relay{}, err
	}
	return r.Set(ctx, p.Tenant, id, on, pulse)
}
