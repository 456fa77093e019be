package pbx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/batch"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
)

// CDRWriter persists finished calls. InsertCDR must return only once the
// row is durable: the core publishes call.ended after it returns, and a CRM
// that saw the event must find the CDR even if switchboard is killed.
type CDRWriter interface {
	InsertCDR(ctx context.Context, c *CDR) error
}

// DTMFPlayer is the optional engine capability of playing digits into a
// live channel; engines without it make PlayDTMF answer ErrNotSupported.
type DTMFPlayer interface {
	PlayDTMF(ctx context.Context, tenant, uniqueID, digits string) error
}

// Redirector is the optional engine capability of transferring a live
// call: the named channel stays, its partner is dropped, and the channel is
// connected to a new destination.
type Redirector interface {
	Redirect(ctx context.Context, tenant, uniqueID, dest string) error
}

// Picker is the optional engine capability of call pickup: another
// extension takes a ringing call.
type Picker interface {
	Pickup(ctx context.Context, tenant, uniqueID, by string) error
}

// Engine is what the core needs from a telephony engine to carry out
// commands. Facts flow the other way, through Core's reporting methods.
type Engine interface {
	// Originate creates the first channel (ringing From) and returns its call
	// at once; the rest of the call proceeds asynchronously.
	Originate(ctx context.Context, req OriginateRequest) (Call, error)
	// Hangup ends one channel (and with it a two-party call).
	Hangup(ctx context.Context, tenant, uniqueID, cause string) error
}

// Core holds the live state of every tenant and is the Service the API
// adapters call. It is safe for concurrent use.
type Core struct {
	log  *slog.Logger
	now  func() time.Time
	ids  *IDs
	bus  *eventbus.Bus[Event]
	cdrs CDRWriter
	recs RecordingStore
	arts ArtifactStore

	qlog *batch.Writer[QueueLogEntry] // nil: no queue log

	limits Limits
	rates  rates
	hits   struct {
		tenantCalls, ownerCalls, tenantRate, ownerRate atomic.Uint64
	}

	mu         sync.Mutex
	activeRecs map[string]*activeRecording // by call id; nil value: being set up
	engine     Engine
	tenants    map[string]*tenantState
	closing    bool
}

type tenantState struct {
	name     string
	domain   string
	exts     map[string]*extState
	calls    map[string]*callState // by call id
	channels map[string]*Channel   // by unique id
	byName   map[string]*Channel   // the same channels by name
	// recordTrunks names the trunks whose calls are always recorded.
	recordTrunks map[string]bool
	confs        map[string]*confState // by room name
	confSeq      int
	queues       map[string]*queueState // by name
	loc          *time.Location         // nil: UTC
	rates        map[string]RateTable   // by trunk name
}

type extState struct {
	number, name string
	reg          *Registration
	channels     map[string]*Channel // live channels of this extension, by unique id
	// kinds counts channels by what they make of the device state, kept
	// with channels so the state costs the same with one call or a
	// thousand (a trunk's target extension under load was a scan of every
	// channel per state change: 14 % of the CPU at 3,000 calls/s).
	kinds  [numChanKinds]int
	state  DeviceState
	record bool // always record this extension's calls
	camera int  // the camera at this door phone; 0: none
}

type callState struct {
	call     Call
	channels []*Channel
	ended    bool
	app      string // CDR lastapp when not a plain Dial/Originate
	appData  string // what the application serves: queue, room, dialled number
	owner    string // the API principal that originated it ("" otherwise)
	// legCDR is the row of the leg a transfer just ended, published with
	// the next call.transferred.
	legCDR *CDR
}

// Options configure a Core.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// FirstSequence seeds unique ids; pass something larger than any id in
	// the CDR store (the engine's start time in microseconds works).
	FirstSequence uint64
	// Recordings indexes recordings and Artifacts holds their files;
	// without both, recording answers ErrNotSupported.
	Recordings RecordingStore
	Artifacts  ArtifactStore
	// QueueLog keeps the queue log statistics are computed from; without
	// it queues work but leave no history.
	QueueLog QueueLogger
	// Limits bound concurrent calls and originate rates.
	Limits Limits
}

// NewCore builds the core for a directory. cdrs must not be nil.
func NewCore(dir Directory, cdrs CDRWriter, opts Options) (*Core, error) {
	if cdrs == nil {
		return nil, errors.New("pbx: nil CDR writer")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Core{
		log:     opts.Logger.With("component", "pbx"),
		now:     opts.Now,
		ids:     NewIDs(opts.Now, opts.FirstSequence),
		bus:     eventbus.New[Event](),
		cdrs:    cdrs,
		tenants: map[string]*tenantState{},
		recs:    opts.Recordings, arts: opts.Artifacts,
		activeRecs: map[string]*activeRecording{},
		limits:     opts.Limits.withDefaults(),
	}
	for _, t := range dir.Tenants {
		if _, dup := c.tenants[t.Name]; dup {
			return nil, fmt.Errorf("pbx: tenant %q defined twice", t.Name)
		}
		ts := &tenantState{name: t.Name, domain: t.Domain, loc: t.Location, rates: t.Rates, exts: map[string]*extState{},
			calls: map[string]*callState{}, channels: map[string]*Channel{}, byName: map[string]*Channel{}, recordTrunks: map[string]bool{}}
		for _, tr := range t.RecordTrunks {
			ts.recordTrunks[tr] = true
		}
		ts.queues = map[string]*queueState{}
		for _, qe := range t.Queues {
			if qe.RingTimeout <= 0 {
				qe.RingTimeout = 15 * time.Second
			}
			if qe.Strategy == "" {
				qe.Strategy = StrategyRingAll
			}
			q := &queueState{cfg: qe}
			for _, m := range qe.Members {
				q.members = append(q.members, &memberState{ext: m.Number, penalty: m.Penalty})
			}
			ts.queues[qe.Name] = q
		}
		ts.confs = map[string]*confState{}
		for _, cf := range t.Conferences {
			ts.confs[cf.Name] = &confState{name: cf.Name, number: cf.Number, members: map[string]*ConferenceMember{}}
		}
		for _, e := range t.Extensions {
			if _, dup := ts.exts[e.Number]; dup {
				return nil, fmt.Errorf("pbx: tenant %q: extension %q defined twice", t.Name, e.Number)
			}
			ts.exts[e.Number] = &extState{number: e.Number, name: e.Name, channels: map[string]*Channel{}, state: StateUnavailable, record: e.Record, camera: e.Camera}
		}
		c.tenants[t.Name] = ts
	}
	if opts.QueueLog != nil {
		c.qlog = batch.Start(batch.Options[QueueLogEntry]{Queue: 1 << 13, MaxBatch: 512, Write: opts.QueueLog.InsertQueueLog,
			OnError: func(es []QueueLogEntry, err error) {
				c.log.Error("queue log write failed", "entries", len(es), "err", err)
			}})
	}
	return c, nil
}

// SetEngine attaches the engine that carries out commands. Engines are
// built after the core (they report into it), hence the setter.
func (c *Core) SetEngine(e Engine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.engine = e
}

// Close ends every event subscription. Calls must have been ended by the
// engine first.
func (c *Core) Close() {
	c.mu.Lock()
	already := c.closing
	c.closing = true
	c.mu.Unlock()
	c.bus.Close()
	if c.qlog != nil && !already {
		c.qlog.Close()
	}
}

// AnnounceShutdown tells every tenant's subscribers that the node is
// stopping, before the engine hangs the live calls up: a dashboard can
// tell "switchboard restarts" from "everyone hung up at once".
func (c *Core) AnnounceShutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.tenants {
		c.publishLocked(name, Event{Type: EvShutdown})
	}
}

// Publish sends an event that is not about a call (a relay switched, a
// camera snapshot, an SMS) through the same sequence, event log, replay
// and webhooks as call events. Call, channel, queue and conference events
// belong to the core and are refused.
func (c *Core) Publish(tenant string, e Event) error {
	if e.Type == "" || e.Call != nil || e.Channel != nil || e.CDR != nil || e.Queue != nil || e.Conference != nil || e.Recording != nil ||
		strings.HasPrefix(string(e.Type), "call.") || strings.HasPrefix(string(e.Type), "channel.") ||
		strings.HasPrefix(string(e.Type), "queue.") || strings.HasPrefix(string(e.Type), "conference.") || strings.HasPrefix(string(e.Type), "recording.") {
		return fmt.Errorf("publish %q: only the core publishes call events: %w", e.Type, ErrInvalidArgument)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants[tenant] == nil {
		return fmt.Errorf("publish: %w", ErrUnknownTenant)
	}
	if c.closing {
		return fmt.Errorf("publish: %w", ErrShuttingDown)
	}
	c.publishLocked(tenant, e)
	return nil
}

// TenantLocation is the tenant's time zone, for date-only filters ("today"
// is the tenant's today); UTC when none was configured.
func (c *Core) TenantLocation(tenant string) *time.Location {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tenants[tenant]; t != nil && t.loc != nil {
		return t.loc
	}
	return time.UTC
}

// EventStats are the event bus's counts for monitoring.
func (c *Core) EventStats() eventbus.Stats { return c.bus.Stats() }

// Subscribe returns a subscription to tenant's events ("" for all tenants).
func (c *Core) Subscribe(tenant string, buf int) *eventbus.Subscription[Event] {
	return c.bus.Subscribe(tenant, buf)
}

// SubscribeAt subscribes and returns the tenant's sequence number at that
// moment (see eventbus.Bus.SubscribeAt).
func (c *Core) SubscribeAt(tenant string, buf int) (*eventbus.Subscription[Event], uint64) {
	return c.bus.SubscribeAt(tenant, buf)
}

// SeedEventSequence continues a tenant's event numbering from seq (the
// durable event log's last entry), so numbers never repeat across restarts.
func (c *Core) SeedEventSequence(tenant string, seq uint64) { c.bus.Seed(tenant, seq) }

// IDs exposes the id generator to engines.
func (c *Core) IDs() *IDs { return c.ids }

// Now is the core's clock, shared with engines so timestamps agree.
func (c *Core) Now() time.Time { return c.now() }

// TenantNames lists the configured tenants.
func (c *Core) TenantNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.tenants))
	for n := range c.tenants {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// HasExtension reports whether number is an extension of tenant.
func (c *Core) HasExtension(tenant, number string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	return t != nil && t.exts[number] != nil
}

// ---- Facts reported by engines ----

// SetRegistration records a device registering (reg != nil) or going away.
func (c *Core) SetRegistration(tenant, number string, reg *Registration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil || t.exts[number] == nil {
		return
	}
	e := t.exts[number]
	if reg != nil {
		r := *reg
		e.reg = &r
	} else {
		e.reg = nil
	}
	c.updateExtLocked(t, e, true)
}

// ChannelSpec describes a new channel.
type ChannelSpec struct {
	Tech         string // "SIP"
	Peer         string // extension number or trunk name, used in the channel name
	Exten        string // the extension this channel belongs to, "" for a trunk
	IsTrunk      bool
	Dir          Direction
	CallerIDNum  string
	CallerIDName string
}

// NewCall creates a call with its first channel and publishes call.new and
// channel.new.
func (c *Core) NewCall(tenant, from, to string, originated bool, first ChannelSpec) (*Channel, Call, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil, Call{}, ErrShuttingDown
	}
	t := c.tenants[tenant]
	if t == nil {
		return nil, Call{}, fmt.Errorf("new call in %q: %w", tenant, ErrUnknownTenant)
	}
	if m := c.limits.MaxCallsPerTenant; m >= 0 && len(t.calls) >= m {
		c.hits.tenantCalls.Add(1)
		return nil, Call{}, fmt.Errorf("new call in %q: %d calls at once: %w", tenant, m, ErrLimit)
	}
	ch := c.newChannelLocked(t, "", first)
	ch.CallID = ch.UniqueID
	cs := &callState{call: Call{ID: ch.UniqueID, Tenant: tenant, From: from, To: to, Created: ch.Created, Originated: originated}, channels: []*Channel{ch}}
	cs.call.Camera = t.doorCamera(first, to)
	t.calls[cs.call.ID] = cs
	c.publishLocked(tenant, Event{Type: EvCallNew, Call: cs.snapshot()})
	c.attachChannelLocked(t, ch)
	return ch, *cs.snapshot(), nil
}

// AddChannel adds a further channel (the dialled side) to a call.
func (c *Core) AddChannel(tenant, callID string, spec ChannelSpec) (*Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil, ErrUnknownTenant
	}
	cs := t.calls[callID]
	if cs == nil || cs.ended {
		return nil, fmt.Errorf("add channel to call %s: %w", callID, ErrNotFound)
	}
	ch := c.newChannelLocked(t, callID, spec)
	cs.channels = append(cs.channels, ch)
	c.attachChannelLocked(t, ch)
	return ch, nil
}

func (c *Core) newChannelLocked(t *tenantState, callID string, s ChannelSpec) *Channel {
	tech := s.Tech
	if tech == "" {
		tech = "SIP"
	}
	st := ChanDown
	if s.Dir == Inbound {
		st = ChanRing
	}
	ch := &Channel{
		Name: c.ids.ChannelName(tech, s.Peer), UniqueID: c.ids.UniqueID(), Tenant: t.name, CallID: callID,
		Peer: s.Peer, Exten: s.Exten, IsTrunk: s.IsTrunk, Dir: s.Dir, State: st,
		CallerIDNum: s.CallerIDNum, CallerIDName: s.CallerIDName, Created: c.now(),
	}
	t.channels[ch.UniqueID] = ch
	t.byName[ch.Name] = ch
	return ch
}

// attachChannelLocked publishes channel.new, then the extension's new
// state, so clients see the cause before the effect.
func (c *Core) attachChannelLocked(t *tenantState, ch *Channel) {
	c.publishChannelLocked(t, EvChannelNew, ch, "")
	if e := t.exts[ch.Exten]; e != nil {
		e.addChannel(ch)
		c.updateExtLocked(t, e, false)
	}
}

// SetChannelState moves a channel to a new state. Moving to ChanUp marks it
// answered; the first answered outbound channel answers the call.
func (c *Core) SetChannelState(ch *Channel, st ChannelState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[ch.Tenant]
	live := t.channels[ch.UniqueID]
	if live == nil || live.State == st || live.State == ChanHangup {
		return
	}
	if e := t.exts[live.Exten]; e != nil {
		e.setChannelState(live, st)
	}
	live.State = st
	if st == ChanUp && live.Answered.IsZero() {
		live.Answered = c.now()
	}
	c.publishChannelLocked(t, EvChannelState, live, "")
	if e := t.exts[live.Exten]; e != nil {
		c.updateExtLocked(t, e, false)
	}
}

// SetCallerID updates what a channel presents (e.g. once the far side is known).
func (c *Core) SetCallerID(ch *Channel, num, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if live := c.tenants[ch.Tenant].channels[ch.UniqueID]; live != nil {
		live.CallerIDNum, live.CallerIDName = num, name
	}
}

// DTMFReceived publishes a digit a channel's party pressed.
func (c *Core) DTMFReceived(ch *Channel, digit rune, via string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[ch.Tenant]
	live := t.channels[ch.UniqueID]
	if live == nil {
		return
	}
	snap := *live
	c.publishLocked(t.name, Event{Type: EvDTMF, Channel: &snap, Digit: string(digit), Via: via})
}

// CallTransferred records that newCh replaced old in the call, which now
// goes to dest, and publishes call.transferred so clients can follow the
// call across the id change.
func (c *Core) CallTransferred(tenant, callID string, old, newCh *Channel, dest string) {
	c.callMoved(tenant, callID, old, newCh, dest, false)
}

// CallPickedUp is CallTransferred for a pickup: another extension took the
// ringing call (WebTAPI call_pick, *8); the event says so (Pickup).
func (c *Core) CallPickedUp(tenant, callID string, old, newCh *Channel, by string) {
	c.callMoved(tenant, callID, old, newCh, by, true)
}

func (c *Core) callMoved(tenant, callID string, old, newCh *Channel, dest string, pickup bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	cs := t.calls[callID]
	if cs == nil {
		return
	}
	cs.call.To = dest
	snap := *newCh
	if live := t.channels[newCh.UniqueID]; live != nil {
		snap = *live
	}
	ev := Event{Type: EvCallTransferred, Call: cs.snapshot(), Channel: &snap, Replaces: old.UniqueID, Pickup: pickup, CDR: cs.legCDR}
	cs.legCDR = nil
	c.publishLocked(tenant, ev)
}

// CallAnswered marks the call as connected end to end.
func (c *Core) CallAnswered(tenant, callID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	cs := t.calls[callID]
	if cs == nil || !cs.call.Answered.IsZero() {
		return
	}
	cs.call.Answered = c.now()
	c.publishLocked(tenant, Event{Type: EvCallAnswered, Call: cs.snapshot()})
	if t.wantsRecordingLocked(cs) {
		c.mu.Unlock()
		c.autoRecord(tenant, callID)
		c.mu.Lock()
	}
}

// HangupChannel records that a channel ended.
func (c *Core) HangupChannel(ch *Channel, cause string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[ch.Tenant]
	live := t.channels[ch.UniqueID]
	if live == nil {
		return
	}
	e := t.exts[live.Exten]
	if e != nil {
		e.removeChannel(live)
	}
	live.State = ChanHangup
	delete(t.channels, ch.UniqueID)
	delete(t.byName, ch.Name)
	c.publishChannelLocked(t, EvChannelHangup, live, cause)
	if e != nil {
		c.updateExtLocked(t, e, false)
	}
}

// EndCall writes the call's CDR durably, then removes the call and publishes
// call.ended. Channels still live are hung up first. The CDR is returned.
func (c *Core) EndCall(ctx context.Context, tenant, callID string, status EndStatus, q Quality) (CDR, error) {
	c.mu.Lock()
	t := c.tenants[tenant]
	var cs *callState
	if t != nil {
		cs = t.calls[callID]
	}
	if cs == nil || cs.ended {
		c.mu.Unlock()
		return CDR{}, fmt.Errorf("end call %s: %w", callID, ErrNotFound)
	}
	cs.ended = true
	for _, ch := range cs.channels {
		if t.channels[ch.UniqueID] != nil {
			c.mu.Unlock()
			c.HangupChannel(ch, string(status))
			c.mu.Lock()
		}
	}
	cdr := c.cdrOf(cs, status, q, c.now())
	c.mu.Unlock()

	// The write happens outside the lock: it waits for an fsync.
	err := c.cdrs.InsertCDR(ctx, &cdr)
	if err != nil {
		c.log.Error("cdr write failed", "call_id", callID, "tenant", tenant, "err", err)
	}

	c.mu.Lock()
	delete(t.calls, callID)
	c.publishLocked(tenant, Event{Type: EvCallEnded, Call: cs.snapshot(), CDR: &cdr, Cause: string(status)})
	c.mu.Unlock()
	if err != nil {
		return cdr, fmt.Errorf("end call %s: write cdr: %w", callID, err)
	}
	return cdr, nil
}

// cdrOf builds the CDR of a call that ended at end: of its current leg
// when it was transferred (see legCDR).
func (c *Core) cdrOf(cs *callState, status EndStatus, q Quality, end time.Time) CDR {
	return c.legCDR(cs, nil, status, q, end)
}

// legCDR builds the CDR row of the call's current leg ending at end, with
// dst as the leg's answering channel (nil: the call's last channel). The
// first leg runs from the call's offer; a leg that began with a transfer
// runs from that moment, its source is the party that stayed (as the
// target was offered it, which the new channel presents) and it bills
// from the target's answer. Every row of a call has the call's id as
// uniqueid.
func (c *Core) legCDR(cs *callState, dst *Channel, status EndStatus, q Quality, end time.Time) CDR {
	first := cs.channels[0]
	if dst == nil && len(cs.channels) > 1 {
		dst = cs.channels[len(cs.channels)-1]
	}
	start, answered := cs.call.Created, cs.call.Answered
	src, clid, channel := cs.call.From, fmt.Sprintf("%q <%s>", first.CallerIDName, first.CallerIDNum), first.Name
	if !cs.call.LegStart.IsZero() {
		start, answered = cs.call.LegStart, time.Time{}
		for _, ch := range cs.channels {
			if ch.UniqueID == cs.call.LegChannel {
				channel = ch.Name
			}
		}
		if dst != nil {
			src, clid, answered = dst.CallerIDNum, fmt.Sprintf("%q <%s>", dst.CallerIDName, dst.CallerIDNum), dst.Answered
		}
	}
	cdr := CDR{
		Tenant: cs.call.Tenant, CallDate: start, AnswerDate: answered, EndDate: end,
		CLID: clid, Src: src, Dst: cs.call.To, Channel: channel, LastApp: "Dial",
		Duration: int(end.Sub(start).Round(time.Second) / time.Second),
		UniqueID: cs.call.ID, EndStatus: string(status), Disposition: status.Disposition(),
		CallID: q.CallID, Codec: q.Codec, PDDMillis: int(q.PDD / time.Millisecond), LastSIPResponse: q.LastSIPResponse,
		HangupBy: q.HangupBy, SrcUserAgent: q.SrcUserAgent, DstUserAgent: q.DstUserAgent, SrcIP: q.SrcIP, DstIP: q.DstIP,
		RTPPacketsAB: q.PacketsAB, RTPPacketsBA: q.PacketsBA, LossAB: q.LossAB, LossBA: q.LossBA,
		JitterABMillis: q.JitterABMillis, JitterBAMillis: q.JitterBAMillis, MOS: q.MOS,
		Detail: q.Detail,
	}
	if cs.call.Originated {
		cdr.LastApp = "Originate"
	}
	if cs.app != "" {
		cdr.LastApp = cs.app
	}
	if dst != nil {
		cdr.DstChannel = dst.Name
	}
	if !answered.IsZero() {
		cdr.BillSec = int(end.Sub(answered).Round(time.Second) / time.Second)
		if status != EndAnswer {
			// An answered call always bills as ANSWERED whatever ended it.
			cdr.Disposition = DispAnswered
		}
	}
	c.rate(cs, &cdr, dst)
	return cdr
}

// TransferLeg ends the answered leg between kept and gone because gone's
// party transferred kept's (a REFER) or the API redirected kept: the
// leg's CDR row (hangup_by "transfer", billed from the leg's answer until
// now) is written durably and travels with the next call.transferred
// event; the call's next leg starts now with kept as its source. q is
// what the engine measured on the ending leg's signalling and media.
func (c *Core) TransferLeg(ctx context.Context, tenant, callID string, kept, gone *Channel, q Quality) (CDR, error) {
	c.mu.Lock()
	t := c.tenants[tenant]
	var cs *callState
	if t != nil {
		cs = t.calls[callID]
	}
	if cs == nil || cs.ended {
		c.mu.Unlock()
		return CDR{}, fmt.Errorf("transfer leg of call %s: %w", callID, ErrNotFound)
	}
	now := c.now()
	q.HangupBy = HangupTransfer
	// The row's source is the leg's own: the first leg's caller, or the
	// party that stayed at the previous transfer; its other side is the
	// leg's destination, whichever of kept and gone that is.
	srcID := cs.channels[0].UniqueID
	if !cs.call.LegStart.IsZero() {
		srcID = cs.call.LegChannel
	}
	dstID := gone.UniqueID
	if dstID == srcID {
		dstID = kept.UniqueID
	}
	var dst *Channel
	for _, ch := range cs.channels {
		if ch.UniqueID == dstID {
			dst = ch
		}
	}
	cdr := c.legCDR(cs, dst, EndAnswer, q, now)
	cs.call.LegStart, cs.call.LegChannel = now, kept.UniqueID
	cs.legCDR = &cdr
	c.mu.Unlock()

	err := c.cdrs.InsertCDR(ctx, &cdr)
	if err != nil {
		c.log.Error("cdr write failed", "call_id", callID, "tenant", tenant, "err", err)
		return cdr, fmt.Errorf("transfer leg of call %s: write cdr: %w", callID, err)
	}
	return cdr, nil
}

// rate prices a call that left through a trunk with a rate table:
// the first outbound trunk channel names the trunk, the dialled number
// picks the rate. The tenants map and rate tables are fixed at NewCore,
// so this reads them with or without c.mu (RecordInterrupted has none).
func (c *Core) rate(cs *callState, cdr *CDR, dst *Channel) {
	t := c.tenants[cs.call.Tenant]
	if t == nil || len(t.rates) == 0 {
		return
	}
	chs := cs.channels
	if !cs.call.LegStart.IsZero() && dst != nil {
		chs = []*Channel{dst} // a later leg of a transferred call: its own trunk
	}
	for _, ch := range chs {
		if !ch.IsTrunk || ch.Dir != Outbound {
			continue
		}
		rt, ok := t.rates[ch.Peer]
		if !ok {
			return
		}
		if zone, cost, ok := rt.Price(cs.call.To, cdr.BillSec); ok {
			cdr.Zone, cdr.Cost, cdr.Rated = zone, cost, true
		}
		return
	}
}

func (cs *callState) snapshot() *Call {
	c := cs.call
	c.Channels = make([]Channel, len(cs.channels))
	for i, ch := range cs.channels {
		c.Channels[i] = *ch
	}
	c.Direction = callDirection(c.Channels)
	c.App, c.AppData = cs.app, cs.appData
	return &c
}

// callDirection classifies a call by who took part: a trunk leg first
// (the carrier called in) is inbound, a trunk leg later (an extension
// dialled out) is outbound, none is internal.
func callDirection(chs []Channel) CallDirection {
	for i, ch := range chs {
		if ch.IsTrunk {
			if i == 0 {
				return CallInbound
			}
			return CallOutbound
		}
	}
	return CallInternal
}

// updateExtLocked recomputes an extension's device state and publishes a
// change (or always, for registration updates, so clients see contacts).
func (c *Core) updateExtLocked(t *tenantState, e *extState, force bool) {
	st := deviceState(e)
	if st == e.state && !force {
		return
	}
	e.state = st
	x := e.snapshot(t)
	c.publishLocked(t.name, Event{Type: EvExtensionState, Extension: &x})
	c.onExtensionChangeLocked(t, e.number)
}

// chanKind is what a channel contributes to its device's state.
type chanKind uint8

const (
	kindNone    chanKind = iota // hung up
	kindUp                      // talking
	kindHold                    // on hold
	kindRinging                 // we are alerting this device
	kindDialing                 // the device placed a call not answered yet
	numChanKinds
)

func kindOf(st ChannelState, dir Direction) chanKind {
	switch st {
	case ChanUp:
		return kindUp
	case ChanHold:
		return kindHold
	case ChanHangup:
		return kindNone
	}
	if dir == Outbound {
		return kindRinging
	}
	return kindDialing
}

func (e *extState) addChannel(ch *Channel) {
	if _, ok := e.channels[ch.UniqueID]; ok {
		return
	}
	e.channels[ch.UniqueID] = ch
	e.kinds[kindOf(ch.State, ch.Dir)]++
}

// setChannelState is called before ch.State changes to st.
func (e *extState) setChannelState(ch *Channel, st ChannelState) {
	if e.channels[ch.UniqueID] != ch {
		return
	}
	e.kinds[kindOf(ch.State, ch.Dir)]--
	e.kinds[kindOf(st, ch.Dir)]++
}

// removeChannel is called while ch still has the state it was counted in.
func (e *extState) removeChannel(ch *Channel) {
	if e.channels[ch.UniqueID] != ch {
		return
	}
	delete(e.channels, ch.UniqueID)
	e.kinds[kindOf(ch.State, ch.Dir)]--
}

// deviceState derives the Asterisk-style state from live channels: talking
// wins over ringing (and combines with it as 9, "in use and ringing", as
// Asterisk does), a device with no channels is idle when registered.
func deviceState(e *extState) DeviceState {
	up, hold, ringing, dialing := e.kinds[kindUp] > 0, e.kinds[kindHold] > 0, e.kinds[kindRinging] > 0, e.kinds[kindDialing] > 0
	switch {
	case hold:
		return StateOnHold
	case up && ringing:
		return StateInUse | StateRinging
	case up:
		return StateInUse
	case ringing:
		return StateRinging
	case dialing:
		return StateConnecting
	case e.reg != nil:
		return StateIdle
	}
	return StateUnavailable
}

func (e *extState) snapshot(t *tenantState) Extension {
	x := Extension{Tenant: t.name, Number: e.number, Name: e.name, State: e.state, StateText: e.state.String(), Registered: e.reg != nil}
	if e.reg != nil {
		x.Contact, x.UserAgent = e.reg.Contact, e.reg.UserAgent
	}
	x.ConnectedNum, x.ConnectedName = e.connectedLocked(t)
	return x
}

// connectedLocked is the party the extension's most recent live channel
// talks to (or rings with): for a channel we placed to the extension, the
// caller id it was offered; for one it placed, the number it dialled.
func (e *extState) connectedLocked(t *tenantState) (num, name string) {
	var latest *Channel
	for _, ch := range e.channels {
		if latest == nil || ch.Created.After(latest.Created) {
			latest = ch
		}
	}
	if latest == nil {
		return "", ""
	}
	if latest.Dir == Outbound {
		return latest.CallerIDNum, latest.CallerIDName
	}
	if cs := t.calls[latest.CallID]; cs != nil {
		for _, other := range cs.channels {
			if other.UniqueID != latest.UniqueID && other.Exten != "" {
				return other.Exten, t.extName(other.Exten)
			}
		}
		return cs.call.To, ""
	}
	return "", ""
}

// extName is an extension's directory name ("" when unknown).
func (t *tenantState) extName(number string) string {
	if e := t.exts[number]; e != nil {
		return e.name
	}
	return ""
}

func (c *Core) publishChannelLocked(t *tenantState, typ EventType, ch *Channel, cause string) {
	snap := *ch
	c.publishLocked(t.name, Event{Type: typ, Channel: &snap, Cause: cause})
}

func (c *Core) publishLocked(tenant string, e Event) {
	e.Time = c.now()
	if e.Camera == 0 {
		e.Camera = c.eventCameraLocked(tenant, e)
	}
	c.bus.Publish(tenant, e)
}

// doorCamera is the camera a new call carries: the calling extension's,
// else the dialled extension's (an operator calling the door phone).
func (t *tenantState) doorCamera(first ChannelSpec, to string) int {
	if e := t.exts[first.Exten]; e != nil && !first.IsTrunk && e.camera != 0 {
		return e.camera
	}
	if e := t.exts[to]; e != nil {
		return e.camera
	}
	return 0
}

// eventCameraLocked is the camera of the call an event is about: from
// the call itself, or from the live call of its channel.
func (c *Core) eventCameraLocked(tenant string, e Event) int {
	if e.Call != nil {
		return e.Call.Camera
	}
	if e.Channel == nil || e.Channel.CallID == "" {
		return 0
	}
	if t := c.tenants[tenant]; t != nil {
		if cs := t.calls[e.Channel.CallID]; cs != nil {
			return cs.call.Camera
		}
	}
	return 0
}

// ---- Service: queries and commands for API adapters ----

// Extensions lists a tenant's extensions, sorted by number.
func (c *Core) Extensions(tenant string) ([]Extension, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil, ErrUnknownTenant
	}
	out := make([]Extension, 0, len(t.exts))
	for _, e := range t.exts {
		out = append(out, e.snapshot(t))
	}
	slices.SortFunc(out, func(a, b Extension) int {
		if len(a.Number) != len(b.Number) {
			return len(a.Number) - len(b.Number)
		}
		return strings.Compare(a.Number, b.Number)
	})
	return out, nil
}

// Extension returns one extension; unknown numbers give StateNotFound and
// ErrUnknownExten so adapters can report -1 as the specs do.
func (c *Core) Extension(tenant, number string) (Extension, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return Extension{State: StateNotFound}, ErrUnknownTenant
	}
	e := t.exts[number]
	if e == nil {
		return Extension{Tenant: tenant, Number: number, State: StateNotFound, StateText: StateNotFound.String()}, ErrUnknownExten
	}
	return e.snapshot(t), nil
}

// Calls lists a tenant's live calls, oldest first.
func (c *Core) Calls(tenant string) ([]Call, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil, ErrUnknownTenant
	}
	out := make([]Call, 0, len(t.calls))
	for _, cs := range t.calls {
		if !cs.ended {
			out = append(out, *cs.snapshot())
		}
	}
	// Oldest first; calls created in the same instant in id order, so a
	// listing never depends on map order.
	slices.SortFunc(out, func(a, b Call) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// FindCall returns the live call that id names: a call id, a channel
// unique id or a channel name, the three ways APIs name calls.
func (c *Core) FindCall(tenant, id string) (Call, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return Call{}, fmt.Errorf("find call: %w", ErrUnknownTenant)
	}
	cs := t.resolveCallLocked(id)
	if cs == nil {
		return Call{}, fmt.Errorf("find call %s: %w", id, ErrNotFound)
	}
	return *cs.snapshot(), nil
}

// Originate starts click-to-call.
func (c *Core) Originate(ctx context.Context, req OriginateRequest) (Call, error) {
	if req.From == "" || req.To == "" {
		return Call{}, fmt.Errorf("originate: from and to are required: %w", ErrInvalidArgument)
	}
	if !validNumber(req.To) {
		return Call{}, fmt.Errorf("originate: %q is not a dialable number: %w", req.To, ErrInvalidArgument)
	}
	if req.OutboundCallerID != "" && !ValidCallerID(req.OutboundCallerID) {
		return Call{}, fmt.Errorf("originate: outbound caller id must be 1-%d of letters, digits and + * # . _ -: %w", MaxCallerIDLen, ErrInvalidArgument)
	}
	if req.CallerID != "" && !ValidCallerID(req.CallerID) {
		return Call{}, fmt.Errorf("originate: caller id must be 1-%d of letters, digits and + * # . _ -: %w", MaxCallerIDLen, ErrInvalidArgument)
	}
	if req.RingTimeout < 0 || req.RingTimeout > MaxRingTimeout {
		return Call{}, fmt.Errorf("originate: ring timeout must be 0-%s: %w", MaxRingTimeout, ErrInvalidArgument)
	}
	c.mu.Lock()
	t := c.tenants[req.Tenant]
	eng := c.engine
	var e *extState
	owned := 0
	if t != nil {
		e = t.exts[req.From]
		if req.Owner != "" {
			for _, cs := range t.calls {
				if cs.owner == req.Owner {
					owned++
				}
			}
		}
	}
	c.mu.Unlock()
	switch {
	case t == nil:
		return Call{}, fmt.Errorf("originate: %w", ErrUnknownTenant)
	case e == nil:
		return Call{}, fmt.Errorf("originate from %s: %w", req.From, ErrUnknownExten)
	case eng == nil:
		return Call{}, fmt.Errorf("originate: no engine: %w", ErrNotSupported)
	}
	if err := c.originateAllowed(req, owned); err != nil {
		return Call{}, err
	}
	if req.RingTimeout <= 0 {
		req.RingTimeout = 30 * time.Second
	}
	call, err := eng.Originate(ctx, req)
	if err == nil && req.Owner != "" {
		c.mu.Lock()
		if cs := t.calls[call.ID]; cs != nil {
			cs.owner = req.Owner
		}
		c.mu.Unlock()
	}
	return call, err
}

// MaxRingTimeout bounds how long an originated call may ring each party.
const MaxRingTimeout = 5 * time.Minute

// originateAllowed applies the originate limits: the owner's live calls,
// then the owner's and the tenant's rate.
func (c *Core) originateAllowed(req OriginateRequest, owned int) error {
	now := c.now()
	if req.Owner != "" {
		if m := c.limits.MaxCallsPerOwner; m >= 0 && owned >= m {
			c.hits.ownerCalls.Add(1)
			return fmt.Errorf("originate: %s already has %d calls: %w", req.Owner, owned, ErrLimit)
		}
		if !c.rates.allow(req.Tenant+"\x00"+req.Owner, c.limits.OriginatesPerMinuteOwner, now) {
			c.hits.ownerRate.Add(1)
			return fmt.Errorf("originate: more than %d calls a minute by %s: %w", c.limits.OriginatesPerMinuteOwner, req.Owner, ErrLimit)
		}
	}
	if !c.rates.allow(req.Tenant, c.limits.OriginatesPerMinuteTenant, now) {
		c.hits.tenantRate.Add(1)
		return fmt.Errorf("originate: more than %d calls a minute in %s: %w", c.limits.OriginatesPerMinuteTenant, req.Tenant, ErrLimit)
	}
	return nil
}

// LimitHits reports how often each limit refused something since start.
func (c *Core) LimitHits() LimitHits {
	return LimitHits{TenantCalls: c.hits.tenantCalls.Load(), OwnerCalls: c.hits.ownerCalls.Load(),
		TenantOriginateRate: c.hits.tenantRate.Load(), OwnerOriginateRate: c.hits.ownerRate.Load()}
}

// Hangup ends a call or channel named by call id, channel unique id or
// channel name.
func (c *Core) Hangup(ctx context.Context, tenant, id string) error {
	c.mu.Lock()
	t := c.tenants[tenant]
	eng := c.engine
	var targets []string
	if t != nil {
		if cs := t.calls[id]; cs != nil {
			for _, ch := range cs.channels {
				if t.channels[ch.UniqueID] != nil {
					targets = append(targets, ch.UniqueID)
				}
			}
		} else if ch := t.channelLocked(id); ch != nil {
			targets = append(targets, ch.UniqueID)
		}
	}
	c.mu.Unlock()
	if t == nil {
		return fmt.Errorf("hangup: %w", ErrUnknownTenant)
	}
	if len(targets) == 0 {
		return fmt.Errorf("hangup %s: %w", id, ErrNotFound)
	}
	if eng == nil {
		return fmt.Errorf("hangup: no engine: %w", ErrNotSupported)
	}
	var errs []error
	for _, u := range targets {
		if err := eng.Hangup(ctx, tenant, u, "api"); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// priorityClearWait bounds how long a priority call waits for the
// target's channels to end (the WebTAPI spec allows "1 second" more).
const priorityClearWait = 3 * time.Second

// PriorityCall is click-to-call that first ends every ringing and active
// channel of the target (WebTAPI call_prio), so the target is never busy
// for it. The cleared calls end with cause "priority".
func (c *Core) PriorityCall(ctx context.Context, req OriginateRequest) (Call, error) {
	c.mu.Lock()
	t := c.tenants[req.Tenant]
	eng := c.engine
	known := t != nil && t.exts[req.To] != nil
	c.mu.Unlock()
	switch {
	case t == nil:
		return Call{}, fmt.Errorf("priority call: %w", ErrUnknownTenant)
	case !known:
		return Call{}, fmt.Errorf("priority call to %s: only extensions can be cleared: %w", req.To, ErrUnknownExten)
	case eng == nil:
		return Call{}, fmt.Errorf("priority call: no engine: %w", ErrNotSupported)
	}
	if err := c.clearExtensions(ctx, req.Tenant, []string{req.To}, "priority"); err != nil {
		return Call{}, fmt.Errorf("priority call: %s: %w", req.To, err)
	}
	return c.Originate(ctx, req)
}

// Redirect transfers the call of channel id (unique id or name; a call id
// means its first channel) to dest: the channel stays, its partner leaves.
func (c *Core) Redirect(ctx context.Context, tenant, id, dest string) error {
	if !validNumber(dest) {
		return fmt.Errorf("redirect: %q is not a dialable number: %w", dest, ErrInvalidArgument)
	}
	c.mu.Lock()
	t := c.tenants[tenant]
	eng := c.engine
	var target string
	if t != nil {
		if ch := t.channelLocked(id); ch != nil {
			target = ch.UniqueID
		}
	}
	c.mu.Unlock()
	if t == nil {
		return fmt.Errorf("redirect: %w", ErrUnknownTenant)
	}
	if target == "" {
		return fmt.Errorf("redirect %s: %w", id, ErrNotFound)
	}
	r, ok := eng.(Redirector)
	if !ok {
		return fmt.Errorf("redirect: %w", ErrNotSupported)
	}
	return r.Redirect(ctx, tenant, target, dest)
}

// Pickup lets extension by take the ringing call of channel id (unique id,
// channel name, or call id).
func (c *Core) Pickup(ctx context.Context, tenant, id, by string) error {
	c.mu.Lock()
	t := c.tenants[tenant]
	eng := c.engine
	var target string
	if t != nil {
		if cs := t.calls[id]; cs != nil {
			target = cs.call.ID
		} else if ch := t.channelLocked(id); ch != nil {
			target = ch.UniqueID
		}
	}
	known := t != nil && t.exts[by] != nil
	c.mu.Unlock()
	switch {
	case t == nil:
		return fmt.Errorf("pickup: %w", ErrUnknownTenant)
	case !known:
		return fmt.Errorf("pickup by %s: %w", by, ErrUnknownExten)
	case target == "":
		return fmt.Errorf("pickup %s: %w", id, ErrNotFound)
	}
	p, ok := eng.(Picker)
	if !ok {
		return fmt.Errorf("pickup: %w", ErrNotSupported)
	}
	return p.Pickup(ctx, tenant, target, by)
}

// MaxDTMFDigits bounds one PlayDTMF request.
const MaxDTMFDigits = 64

// PlayDTMF sends digits (0-9, *, #, A-D) as RFC 4733 events to the party
// of a live channel, named by unique id or channel name.
func (c *Core) PlayDTMF(ctx context.Context, tenant, id, digits string) error {
	if digits == "" || len(digits) > MaxDTMFDigits || strings.Trim(digits, "0123456789*#ABCD") != "" {
		return fmt.Errorf("play dtmf: digits must be 1-%d of 0-9 * # A-D: %w", MaxDTMFDigits, ErrInvalidArgument)
	}
	c.mu.Lock()
	t := c.tenants[tenant]
	eng := c.engine
	var target string
	if t != nil {
		if ch := t.channelLocked(id); ch != nil {
			target = ch.UniqueID
		}
	}
	c.mu.Unlock()
	if t == nil {
		return fmt.Errorf("play dtmf: %w", ErrUnknownTenant)
	}
	if target == "" {
		return fmt.Errorf("play dtmf to %s: %w", id, ErrNotFound)
	}
	p, ok := eng.(DTMFPlayer)
	if !ok {
		return fmt.Errorf("play dtmf: %w", ErrNotSupported)
	}
	return p.PlayDTMF(ctx, tenant, target, digits)
}

// validNumber accepts what a dialplan can route: digits with an optional
// leading + and the * and # of feature codes, at most 32 characters.
func validNumber(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#':
		case r == '+' && i == 0 && len(s) > 1:
		default:
			return false
		}
	}
	return true
}

// ValidNumber is validNumber for engines and adapters.
func ValidNumber(s string) bool { return validNumber(s) }
