package devices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// DefaultDoorPulse is how long a relay without a pulse length of its own
// stays on when DTMF opens it: a door must never be left open by a tone.
const DefaultDoorPulse = 3 * time.Second

// interDigit: digits further apart than this start a new sequence, so a
// half-typed code does not combine with digits pressed minutes later.
const interDigit = 5 * time.Second

// MaxDTMFDigits bounds a trigger's digit sequence.
const MaxDTMFDigits = 16

// DoorTrigger opens (pulses) a relay when someone talking with a door
// phone presses Digits. The digits count only from an extension of the
// tenant in a call with one of DoorPhones, in either direction (the door
// phone called the operator, or the operator called the door phone);
// digits from the door phone itself, or from a trunk, never count: a
// visitor at a door phone with a keypad, or a caller from outside, must
// not open the door with a code.
type DoorTrigger struct {
	Tenant     string
	Relay      int
	Digits     string
	DoorPhones []string
}

// ValidDTMFDigits reports whether s is a usable trigger sequence.
func ValidDTMFDigits(s string) bool {
	return s != "" && len(s) <= MaxDTMFDigits && strings.Trim(s, "0123456789*#ABCD") == ""
}

// CallEvents is what the triggers need of the core (*pbx.Core).
type CallEvents interface {
	Subscribe(tenant string, buf int) *eventbus.Subscription[pbx.Event]
	FindCall(tenant, id string) (pbx.Call, error)
}

// Auditor records what the triggers did (*audit.Log).
type Auditor interface {
	Record(e audit.Entry)
}

// DoorTriggers watches the core's DTMF events and pulses relays. It owns
// one goroutine reading the events and one per pulse being switched;
// Close stops and waits for them.
type DoorTriggers struct {
	src    CallEvents
	relays *Relays
	audit  Auditor
	log    *slog.Logger
	byTen  map[string][]DoorTrigger
	maxLen int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartDoorTriggers checks the triggers against the relays and starts
// watching; audit may be nil. Without triggers nothing runs.
func StartDoorTriggers(src CallEvents, relays *Relays, aud Auditor, triggers []DoorTrigger, log *slog.Logger) (*DoorTriggers, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &DoorTriggers{src: src, relays: relays, audit: aud, log: log.With("component", "door_triggers"), byTen: map[string][]DoorTrigger{},
		ctx: ctx, cancel: cancel}
	for _, t := range triggers {
		if _, err := relays.find(t.Tenant, t.Relay); err != nil {
			cancel()
			return nil, fmt.Errorf("dtmf trigger of %s: %w", t.Tenant, err)
		}
		if !ValidDTMFDigits(t.Digits) || len(t.DoorPhones) == 0 {
			cancel()
			return nil, fmt.Errorf("dtmf trigger of relay %d of %s: digits %q, door phones %v: %w", t.Relay, t.Tenant, t.Digits, t.DoorPhones, pbx.ErrInvalidArgument)
		}
		d.byTen[t.Tenant] = append(d.byTen[t.Tenant], t)
		d.maxLen = max(d.maxLen, len(t.Digits))
	}
	if len(d.byTen) > 0 {
		d.wg.Add(1)
		go d.run()
	}
	return d, nil
}

// Close stops watching and waits for pulses being switched.
func (d *DoorTriggers) Close() {
	d.cancel()
	d.wg.Wait()
}

// run reads every tenant's events until Close or the core closes; a
// subscription cut off for being slow is renewed (digits typed meanwhile
// are lost: the caller presses them again).
func (d *DoorTriggers) run() {
	defer d.wg.Done()
	for {
		sub := d.src.Subscribe("", 1024)
		err := d.consume(sub)
		sub.Close()
		if d.ctx.Err() != nil || errors.Is(err, eventbus.ErrClosed) {
			return
		}
		d.log.Warn("event stream cut off; resubscribing", "err", err)
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type chanKey struct{ tenant, uniqueID string }

type typed struct {
	digits string
	last   time.Time
}

func (d *DoorTriggers) consume(sub *eventbus.Subscription[pbx.Event]) error {
	seqs := map[chanKey]*typed{}
	for {
		select {
		case <-d.ctx.Done():
			return nil
		case <-sub.Done():
			return sub.Err()
		case env, ok := <-sub.C():
			if !ok {
				return sub.Err()
			}
			e := env.Event
			if e.Channel == nil || d.byTen[env.Tenant] == nil {
				continue
			}
			k := chanKey{env.Tenant, e.Channel.UniqueID}
			switch e.Type {
			case pbx.EvChannelHangup:
				delete(seqs, k)
			case pbx.EvDTMF:
				s := seqs[k]
				if s == nil || e.Time.Sub(s.last) > interDigit {
					s = &typed{}
					seqs[k] = s
				}
				s.digits += e.Digit
				s.last = e.Time
				if len(s.digits) > d.maxLen {
					s.digits = s.digits[len(s.digits)-d.maxLen:]
				}
				if d.match(env.Tenant, *e.Channel, s.digits) {
					s.digits = ""
				}
			}
		}
	}
}

// match fires every trigger whose digits the channel has just completed
// in a call with its door phone; it reports whether any fired.
func (d *DoorTriggers) match(tenant string, from pbx.Channel, digits string) bool {
	fired := false
	for _, t := range d.byTen[tenant] {
		if !strings.HasSuffix(digits, t.Digits) {
			continue
		}
		if from.IsTrunk || from.Exten == "" || slices.Contains(t.DoorPhones, from.Exten) {
			d.log.Info("door code ignored: not from an extension talking with the door phone", "tenant", tenant, "relay", t.Relay,
				"ext", from.Exten, "channel", from.Name)
			continue
		}
		call, err := d.src.FindCall(tenant, from.CallID)
		if err != nil {
			continue // the call ended meanwhile
		}
		door := ""
		for _, ch := range call.Channels {
			if !ch.IsTrunk && ch.UniqueID != from.UniqueID && ch.State != pbx.ChanHangup && slices.Contains(t.DoorPhones, ch.Exten) {
				door = ch.Exten
			}
		}
		if door == "" {
			continue
		}
		fired = true
		d.wg.Add(1)
		go d.pulse(t, from, call.ID, door)
	}
	return fired
}

// pulse opens the relay for its pulse length and audits it.
func (d *DoorTriggers) pulse(t DoorTrigger, from pbx.Channel, callID, door string) {
	defer d.wg.Done()
	pulse := DefaultDoorPulse
	if x, err := d.relays.find(t.Tenant, t.Relay); err == nil && x.spec.Pulse > 0 {
		pulse = x.spec.Pulse
	}
	ctx, cancel := context.WithTimeout(d.ctx, deviceTimeout)
	defer cancel()
	_, err := d.relays.set(ctx, t.Tenant, t.Relay, true, pulse, "dtmf")
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadGateway
		d.log.Warn("door code: relay did not switch", "tenant", t.Tenant, "relay", t.Relay, "ext", from.Exten, "call_id", callID, "err", err)
	} else {
		d.log.Info("door opened by code", "tenant", t.Tenant, "relay", t.Relay, "ext", from.Exten, "door_phone", door, "call_id", callID)
	}
	if d.audit != nil {
		d.audit.Record(audit.Entry{Tenant: t.Tenant, Principal: from.Exten, Dialect: "sip", Action: "DTMF relay pulse",
			Target: fmt.Sprintf("relay %d", t.Relay), Status: status, Reason: fmt.Sprintf("call %s with door phone %s", callID, door)})
	}
}
