// Package devices holds the PBX's non-telephone objects: door relays and
// cameras. A door-phone call comes in, the operator sees who it is and
// opens the door: switchboard models the relay and the camera like an
// extension, per tenant, reached through one place, with an event on
// every relay change through the core's event stream (so the event log,
// replay and webhooks carry it) and drivers for the hardware people
// actually have. It also records cameras into the artifacts store
// (Recorder) and opens doors by a DTMF code (DoorTriggers). Node builds
// it; dialects reach it through internal/dialect's Service, which checks
// the rights.
package devices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// EvRelayState is the event published on every change of a relay.
const EvRelayState pbx.EventType = "relay.state"

// ErrDevice: the device did not answer, or answered nonsense, within its
// timeout. The relay's recorded state is unchanged.
var ErrDevice = errors.New("device did not answer")

// MaxPulse bounds a pulse: a door opener needs seconds, not hours.
const MaxPulse = time.Minute

// deviceTimeout bounds one driver operation when the caller's context has
// no earlier deadline.
const deviceTimeout = 5 * time.Second

// RelayDriver switches and reads one relay.
type RelayDriver interface {
	Set(ctx context.Context, on bool) error
	State(ctx context.Context) (bool, error)
	// Kind names the driver: virtual, modbus, http.
	Kind() string
	Close() error
}

// RelaySpec configures one relay.
type RelaySpec struct {
	Tenant string
	ID     int
	Name   string
	Driver RelayDriver
	// Pulse is the default pulse length for a door opener ("on for this
	// long, then off"); 0: plain on/off.
	Pulse time.Duration
}

// Relay is a relay's state as the APIs show it.
type Relay struct {
	Tenant  string
	ID      int
	Name    string
	Driver  string
	On      bool
	Changed time.Time // last change switchboard made or saw; zero: none yet
}

// Publisher is the core's event stream (pbx.Core.Publish).
type Publisher interface {
	Publish(tenant string, e pbx.Event) error
}

type relayKey struct {
	tenant string
	id     int
}

type relay struct {
	spec    RelaySpec
	mu      sync.Mutex // one operation on the device at a time
	on      bool
	known   bool
	changed time.Time
	pulse   *time.Timer // a pending "off" of a pulse
}

// Relays is every tenant's relays.
type Relays struct {
	pub Publisher
	log *slog.Logger
	now func() time.Time

	byKey map[relayKey]*relay

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // pulses switching off
}

// NewRelays builds the relays; pub may be nil (no events), log nil.
func NewRelays(specs []RelaySpec, pub Publisher, log *slog.Logger) (*Relays, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Relays{pub: pub, log: log.With("component", "relays"), now: time.Now, byKey: map[relayKey]*relay{}}
	for _, s := range specs {
		k := relayKey{s.Tenant, s.ID}
		if r.byKey[k] != nil {
			return nil, fmt.Errorf("relay %d of %s defined twice", s.ID, s.Tenant)
		}
		if s.Driver == nil {
			return nil, fmt.Errorf("relay %d of %s: no driver", s.ID, s.Tenant)
		}
		r.byKey[k] = &relay{spec: s}
	}
	return r, nil
}

func (r *Relays) find(tenant string, id int) (*relay, error) {
	if x := r.byKey[relayKey{tenant, id}]; x != nil {
		return x, nil
	}
	return nil, fmt.Errorf("relay %d: %w", id, pbx.ErrNotFound)
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < deviceTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, deviceTimeout)
}

// List reads every relay of a tenant, ordered by id. A relay whose device
// does not answer is listed with its last known state.
func (r *Relays) List(ctx context.Context, tenant string) []Relay {
	var out []Relay
	for k, x := range r.byKey {
		if k.tenant != tenant {
			continue
		}
		st, err := r.read(ctx, x)
		if err != nil {
			r.log.Warn("relay state unknown", "tenant", tenant, "relay", k.id, "err", err)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Relay) int { return a.ID - b.ID })
	return out
}

// Get reads one relay from its device.
func (r *Relays) Get(ctx context.Context, tenant string, id int) (Relay, error) {
	x, err := r.find(tenant, id)
	if err != nil {
		return Relay{}, err
	}
	return r.read(ctx, x)
}

func (r *Relays) read(ctx context.Context, x *relay) (Relay, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	dctx, cancel := withTimeout(ctx)
	defer cancel()
	on, err := x.spec.Driver.State(dctx)
	if err != nil {
		return x.snapshot(), fmt.Errorf("relay %d: %w: %v", x.spec.ID, ErrDevice, err)
	}
	if x.known && on != x.on {
		r.changedLocked(x, on, "device")
	}
	x.on, x.known = on, true
	return x.snapshot(), nil
}

func (x *relay) snapshot() Relay {
	return Relay{Tenant: x.spec.Tenant, ID: x.spec.ID, Name: x.spec.Name, Driver: x.spec.Driver.Kind(), On: x.on, Changed: x.changed}
}

// Set switches a relay. Switching on with a pulse (pulse > 0, or 0 for the
// relay's configured default) switches it back off after the pulse: a
// door opener. A negative pulse forces plain on. The recorded state
// changes only when the device accepted the command.
func (r *Relays) Set(ctx context.Context, tenant string, id int, on bool, pulse time.Duration) (Relay, error) {
	return r.set(ctx, tenant, id, on, pulse, "")
}

// set is Set with who asked in the event's "by" ("": api, or pulse for a
// pulse).
func (r *Relays) set(ctx context.Context, tenant string, id int, on bool, pulse time.Duration, by string) (Relay, error) {
	x, err := r.find(tenant, id)
	if err != nil {
		return Relay{}, err
	}
	if pulse > MaxPulse {
		return Relay{}, fmt.Errorf("pulse longer than %s: %w", MaxPulse, pbx.ErrInvalidArgument)
	}
	if pulse == 0 {
		pulse = x.spec.Pulse
	}
	if !on || pulse < 0 {
		pulse = 0
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pulse != nil {
		x.pulse.Stop() // a new command replaces a pending pulse end
		x.pulse = nil
	}
	dctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := x.spec.Driver.Set(dctx, on); err != nil {
		return x.snapshot(), fmt.Errorf("relay %d: %w: %v", id, ErrDevice, err)
	}
	if by == "" {
		by = "api"
		if pulse > 0 {
			by = "pulse"
		}
	}
	r.changedLocked(x, on, by)
	x.on, x.known = on, true
	if pulse > 0 {
		r.mu.Lock()
		if !r.closed {
			r.wg.Add(1)
			x.pulse = time.AfterFunc(pulse, func() {
				defer r.wg.Done()
				r.pulseOff(x)
			})
		}
		r.mu.Unlock()
	}
	return x.snapshot(), nil
}

// pulseOff ends a pulse; a device that does not answer is retried once.
func (r *Relays) pulseOff(x *relay) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pulse = nil
	for attempt := 0; attempt < 2; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), deviceTimeout)
		err := x.spec.Driver.Set(ctx, false)
		cancel()
		if err == nil {
			r.changedLocked(x, false, "pulse")
			x.on = false
			return
		}
		r.log.Error("relay pulse could not switch off", "tenant", x.spec.Tenant, "relay", x.spec.ID, "attempt", attempt+1, "err", err)
	}
}

// changedLocked records a change and publishes it.
func (r *Relays) changedLocked(x *relay, on bool, by string) {
	x.changed = r.now()
	if r.pub == nil {
		return
	}
	state := "0"
	if on {
		state = "1"
	}
	err := r.pub.Publish(x.spec.Tenant, pbx.Event{Type: EvRelayState, Data: map[string]string{
		"relay": strconv.Itoa(x.spec.ID), "name": x.spec.Name, "state": state, "by": by}})
	if err != nil && !errors.Is(err, pbx.ErrShuttingDown) {
		r.log.Warn("relay event not published", "relay", x.spec.ID, "err", err)
	}
}

// Close cancels pending pulse ends (switching those relays off first) and
// closes the drivers.
func (r *Relays) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	var errs []error
	for _, x := range r.byKey {
		x.mu.Lock()
		if x.pulse != nil && x.pulse.Stop() {
			r.wg.Done() // its func will not run
			ctx, cancel := context.WithTimeout(context.Background(), deviceTimeout)
			errs = append(errs, x.spec.Driver.Set(ctx, false))
			cancel()
			x.pulse = nil
		}
		x.mu.Unlock()
	}
	r.wg.Wait()
	for _, x := range r.byKey {
		errs = append(errs, x.spec.Driver.Close())
	}
	return errors.Join(errs...)
}
