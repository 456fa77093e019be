package pbx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Conference is a room and who is in it.
type Conference struct {
	Name    string
	Number  string // dial-in number; none for rooms made by CreateConference
	Dynamic bool   // made on demand, gone when the last member leaves
	Members []ConferenceMember
}

// ConferenceMember is one channel in a room (CloudPBX cmember).
type ConferenceMember struct {
	Channel Channel
	Joined  time.Time
}

// ConferenceEntry is a configured room.
type ConferenceEntry struct {
	Name   string
	Number string
}

// Conferencer is the optional engine capability of conference rooms and
// of monitoring (spying on) a channel.
type Conferencer interface {
	// ConferenceDial calls number and, when it answers, puts it in room.
	ConferenceDial(ctx context.Context, tenant, room, number string) (Call, error)
	// Monitor calls listener and lets it hear both parties of the call of
	// channel uniqueID, who do not hear it.
	Monitor(ctx context.Context, tenant, uniqueID, listener string) (Call, error)
}

type confState struct {
	name, number string
	dynamic      bool
	members      map[string]*ConferenceMember // by channel unique id
	pending      int                          // invitations being placed
}

func (cs *confState) snapshot() Conference {
	c := Conference{Name: cs.name, Number: cs.number, Dynamic: cs.dynamic, Members: []ConferenceMember{}}
	for _, m := range cs.members {
		c.Members = append(c.Members, *m)
	}
	slices.SortFunc(c.Members, func(a, b ConferenceMember) int { return a.Joined.Compare(b.Joined) })
	return c
}

// Conferences lists a tenant's rooms with their members.
func (c *Core) Conferences(tenant string) ([]Conference, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil, ErrUnknownTenant
	}
	out := make([]Conference, 0, len(t.confs))
	for _, cs := range t.confs {
		out = append(out, cs.snapshot())
	}
	slices.SortFunc(out, func(a, b Conference) int { return compareStrings(a.Name, b.Name) })
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ConferenceJoined records that ch entered room (engines call it when the
// channel's audio is in the mix).
func (c *Core) ConferenceJoined(tenant, room string, ch *Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	cs := t.confs[room]
	if cs == nil {
		return
	}
	snap := *ch
	if live := t.channels[ch.UniqueID]; live != nil {
		snap = *live
	}
	cs.members[ch.UniqueID] = &ConferenceMember{Channel: snap, Joined: c.now()}
	conf := cs.snapshot()
	c.publishLocked(tenant, Event{Type: EvConfJoin, Conference: &conf, Channel: &snap})
}

// ConferenceLeft records that ch left room; a dynamic room goes with its
// last member.
func (c *Core) ConferenceLeft(tenant, room string, ch *Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	cs := t.confs[room]
	if cs == nil || cs.members[ch.UniqueID] == nil {
		return
	}
	snap := cs.members[ch.UniqueID].Channel
	delete(cs.members, ch.UniqueID)
	conf := cs.snapshot()
	c.publishLocked(tenant, Event{Type: EvConfLeave, Conference: &conf, Channel: &snap})
	if cs.dynamic && len(cs.members) == 0 && cs.pending == 0 {
		delete(t.confs, room)
	}
}

// conferenceEngine returns the engine as a Conferencer.
func (c *Core) conferenceEngine() (Conferencer, error) {
	c.mu.Lock()
	eng := c.engine
	c.mu.Unlock()
	ce, ok := eng.(Conferencer)
	if !ok {
		return nil, fmt.Errorf("conference: %w", ErrNotSupported)
	}
	return ce, nil
}

// MaxConferenceInvite bounds one invitation request.
const MaxConferenceInvite = 50

// ConferenceInvite calls each of numbers into room. With breakCalls the
// numbers' current calls are ended first (WebTAPI call_create_conf's
// "break"); otherwise a busy number simply gets a second call.
func (c *Core) ConferenceInvite(ctx context.Context, tenant, room string, numbers []string, breakCalls bool) ([]Call, error) {
	if len(numbers) == 0 || len(numbers) > MaxConferenceInvite {
		return nil, fmt.Errorf("conference: 1-%d numbers to call: %w", MaxConferenceInvite, ErrInvalidArgument)
	}
	for _, n := range numbers {
		if !validNumber(n) {
			return nil, fmt.Errorf("conference: %q is not a dialable number: %w", n, ErrInvalidArgument)
		}
	}
	ce, err := c.conferenceEngine()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	t := c.tenants[tenant]
	var cs *confState
	if t != nil {
		cs = t.confs[room]
	}
	if cs != nil {
		cs.pending++ // keeps a new dynamic room alive until its calls are placed
	}
	c.mu.Unlock()
	switch {
	case t == nil:
		return nil, fmt.Errorf("conference: %w", ErrUnknownTenant)
	case cs == nil:
		return nil, fmt.Errorf("conference %q: %w", room, ErrNotFound)
	}
	defer func() {
		c.mu.Lock()
		cs.pending--
		c.mu.Unlock()
	}()
	if breakCalls {
		if err := c.clearExtensions(ctx, tenant, numbers, "conference"); err != nil {
			return nil, err
		}
	}
	var calls []Call
	var errs []error
	for _, n := range numbers {
		call, err := ce.ConferenceDial(ctx, tenant, room, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("call %s: %w", n, err))
			continue
		}
		calls = append(calls, call)
	}
	if len(calls) == 0 {
		return nil, errors.Join(errs...)
	}
	for _, err := range errs {
		c.log.Warn("conference invite", "tenant", tenant, "room", room, "err", err)
	}
	return calls, nil
}

// CreateConference makes a new room and calls numbers into it (WebTAPI
// call_create_conf). The room lives while it has members.
func (c *Core) CreateConference(ctx context.Context, tenant string, numbers []string, breakCalls bool) (Conference, []Call, error) {
	c.mu.Lock()
	t := c.tenants[tenant]
	var name string
	if t != nil {
		for {
			t.confSeq++
			name = fmt.Sprintf("conf-%d", t.confSeq)
			if t.confs[name] == nil {
				break
			}
		}
		t.confs[name] = &confState{name: name, dynamic: true, members: map[string]*ConferenceMember{}}
	}
	c.mu.Unlock()
	if t == nil {
		return Conference{}, nil, fmt.Errorf("conference: %w", ErrUnknownTenant)
	}
	calls, err := c.ConferenceInvite(ctx, tenant, name, numbers, breakCalls)
	c.mu.Lock()
	cs := t.confs[name]
	var conf Conference
	if cs != nil {
		conf = cs.snapshot()
		if err != nil && len(cs.members) == 0 {
			delete(t.confs, name)
		}
	}
	c.mu.Unlock()
	if err != nil {
		return Conference{}, nil, err
	}
	return conf, calls, nil
}

// clearExtensions hangs up every channel of the given extensions and
// waits (bounded) until they are gone.
func (c *Core) clearExtensions(ctx context.Context, tenant string, numbers []string, cause string) error {
	c.mu.Lock()
	t := c.tenants[tenant]
	eng := c.engine
	var victims []string
	for _, n := range numbers {
		if e := t.exts[n]; e != nil {
			for id := range e.channels {
				victims = append(victims, id)
			}
		}
	}
	c.mu.Unlock()
	for _, id := range victims {
		if err := eng.Hangup(ctx, tenant, id, cause); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("clear %s: %w", id, err)
		}
	}
	deadline := time.NewTimer(priorityClearWait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		busy := 0
		c.mu.Lock()
		for _, n := range numbers {
			if e := t.exts[n]; e != nil {
				busy += len(e.channels)
			}
		}
		c.mu.Unlock()
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%d channels still up: %w", busy, ErrBusy)
		case <-tick.C:
		}
	}
}

// Monitor calls listener and lets it hear both directions of the call of
// channel id (unique id, name or call id) without being heard (WebTAPI
// chan_monitor).
func (c *Core) Monitor(ctx context.Context, tenant, id, listener string) (Call, error) {
	c.mu.Lock()
	t := c.tenants[tenant]
	var target string
	if t != nil {
		if cs := t.resolveCallLocked(id); cs != nil {
			target = cs.call.ID
		}
	}
	known := t != nil && t.exts[listener] != nil
	c.mu.Unlock()
	switch {
	case t == nil:
		return Call{}, fmt.Errorf("monitor: %w", ErrUnknownTenant)
	case !known:
		return Call{}, fmt.Errorf("monitor by %s: %w", listener, ErrUnknownExten)
	case target == "":
		return Call{}, fmt.Errorf("monitor %s: no such live call or channel: %w", id, ErrNotFound)
	}
	ce, err := c.conferenceEngine()
	if err != nil {
		return Call{}, err
	}
	return ce.Monitor(ctx, tenant, target, listener)
}

// SetCallApp names what a call does beyond a plain bridge ("ConfBridge",
// "ChanSpy"); it becomes the CDR's lastapp, as Asterisk reports it.
func (c *Core) SetCallApp(tenant, callID, app string) { c.SetCallAppData(tenant, callID, app, "") }

// SetCallAppData records the application a call is in and what it serves
// (the queue, the room, the number a spy listens to), for snapshots and
// the CDR's lastapp.
func (c *Core) SetCallAppData(tenant, callID, app, data string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tenants[tenant]; t != nil {
		if cs := t.calls[callID]; cs != nil {
			cs.app, cs.appData = app, data
		}
	}
}
