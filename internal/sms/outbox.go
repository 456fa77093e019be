package sms

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// Limits and defaults of the queue.
const (
	// MaxBody is the longest body in characters: CloudPBX's limit, and
	// about seven concatenated GSM-7 parts, which gateways still take.
	MaxBody = 1024
	// DefaultMaxAttempts hand-overs before a message FAILS.
	DefaultMaxAttempts = 5
	// DefaultRetryInitial doubles per attempt up to DefaultRetryMax: a
	// gateway restarting is back within seconds, one that is down for
	// longer is not hammered.
	DefaultRetryInitial = 2 * time.Second
	DefaultRetryMax     = 5 * time.Minute
	// DefaultWorkers bounds hand-overs in flight (each is one HTTP
	// request or SIP transaction).
	DefaultWorkers = 8
	// DefaultReportTimeout ends a message waiting for its report UNKNOWN.
	DefaultReportTimeout = 48 * time.Hour
	// sweepEvery bounds how late a report timeout is noticed.
	sweepEvery = time.Minute
	// sendTimeout bounds one hand-over.
	sendTimeout = 30 * time.Second
)

// TenantConfig is one tenant's gateway.
type TenantConfig struct {
	Driver Driver
	// From is the sender (a number or an alphanumeric name).
	From         string
	MaxAttempts  int
	RetryInitial time.Duration
	RetryMax     time.Duration
	// CallbackSecret authenticates the gateway's status callbacks
	// (CallbackHandler); empty: the tenant takes none.
	CallbackSecret string
	// ReportTimeout: a message ACCEPTED or SENT that long without a
	// report ends UNKNOWN (the spec's "no delivery report"); default 48 h,
	// operators keep reports for about that long.
	ReportTimeout time.Duration
}

// Options build an Outbox.
type Options struct {
	Store     Store
	CDRs      CDRWriter // nil: no CDRs
	Publisher Publisher // nil: no events
	Pricer    Pricer    // nil: only gateway costs
	Tenants   map[string]TenantConfig
	Workers   int
	Logger    *slog.Logger
	Now       func() time.Time
	// NewID makes message ids (default: random 19-digit numbers; golden
	// tests fix them).
	NewID func() string
}

// Request is a message to send.
type Request struct {
	Tenant string
	Owner  string
	To     string
	Body   string
	// Test validates without storing or sending (CloudPBX's test=true).
	Test bool
}

type key struct{ tenant, id string }

// Outbox is the queue: it stores messages, hands them to their tenant's
// driver with retries and applies what the gateways report.
type Outbox struct {
	o   Options
	log *slog.Logger
	now func() time.Time

	locks [64]sync.Mutex // per message (by hash): one state change at a time

	mu       sync.Mutex
	ready    []key
	delayed  map[key]time.Time
	inflight map[key]bool // hand-overs under way: never two of one message
	closed   bool
	wake     chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // dispatcher and hand-overs
	sem    chan struct{}
}

var _ Reporter = (*Outbox)(nil)

// New builds the outbox; Start resumes what a previous run left and
// begins sending.
func New(o Options) (*Outbox, error) {
	if o.Store == nil {
		return nil, errors.New("sms: a store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.NewID == nil {
		o.NewID = newID
	}
	for name, tc := range o.Tenants {
		if tc.Driver == nil {
			return nil, fmt.Errorf("sms: tenant %s: no driver", name)
		}
		if tc.MaxAttempts <= 0 {
			tc.MaxAttempts = DefaultMaxAttempts
		}
		if tc.RetryInitial <= 0 {
			tc.RetryInitial = DefaultRetryInitial
		}
		if tc.RetryMax <= 0 {
			tc.RetryMax = DefaultRetryMax
		}
		if tc.ReportTimeout <= 0 {
			tc.ReportTimeout = DefaultReportTimeout
		}
		o.Tenants[name] = tc
	}
	b := &Outbox{o: o, log: o.Logger.With("component", "sms"), now: o.Now, delayed: map[key]time.Time{}, inflight: map[key]bool{},
		wake: make(chan struct{}, 1), sem: make(chan struct{}, o.Workers)}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Start resumes the messages a previous run left unfinished (queued and
// renewing ones are sent at once, the sim driver continues its walk, the
// others wait for their gateway's report or the report timeout) and
// starts the dispatcher and the report sweep.
func (b *Outbox) Start(ctx context.Context) error {
	pend, err := b.o.Store.PendingSMS(ctx)
	if err != nil {
		return fmt.Errorf("sms: pending messages: %w", err)
	}
	b.mu.Lock()
	for _, m := range pend {
		tc, ok := b.o.Tenants[m.Tenant]
		if !ok {
			continue // its tenant lost its gateway: it waits for one
		}
		switch m.State {
		case Queue, Renewal:
			// At once, even a retry whose time has not come: a restart is
			// when a gateway's configuration was fixed.
			b.ready = append(b.ready, key{m.Tenant, m.ID})
		default:
			if r, ok := tc.Driver.(Resumer); ok {
				r.Resume(m, b)
			}
		}
	}
	b.mu.Unlock()
	if len(pend) > 0 {
		b.log.Info("resuming messages of the previous run", "count", len(pend))
	}
	b.wg.Add(2)
	go b.dispatch()
	go b.sweep()
	b.poke()
	return nil
}

// sweep ends UNKNOWN the messages whose report is overdue, now and
// every sweepEvery (or sooner for a short ReportTimeout).
func (b *Outbox) sweep() {
	defer b.wg.Done()
	every := sweepEvery
	for _, tc := range b.o.Tenants {
		if d := tc.ReportTimeout / 4; d < every {
			every = max(d, 10*time.Millisecond)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		b.expire()
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Outbox) expire() {
	pend, err := b.o.Store.PendingSMS(b.ctx)
	if err != nil {
		if b.ctx.Err() == nil {
			b.log.Warn("sms report sweep", "err", err)
		}
		return
	}
	now := b.now()
	for _, m := range pend {
		tc, ok := b.o.Tenants[m.Tenant]
		if !ok || (m.State != Accepted && m.State != Sent) || now.Sub(m.Updated) < tc.ReportTimeout {
			continue
		}
		err := b.Report(b.ctx, Update{Tenant: m.Tenant, ID: m.ID, State: Unknown, Error: "no delivery report within " + tc.ReportTimeout.String()})
		if err != nil && b.ctx.Err() == nil {
			b.log.Warn("sms report timeout", "sms", m.ID, "err", err)
		}
	}
}

// Close stops sending (a hand-over in flight is abandoned and retried
// after the next start), waits for the workers and closes the drivers.
func (b *Outbox) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	var errs []error
	seen := map[Driver]bool{}
	for _, tc := range b.o.Tenants {
		if !seen[tc.Driver] {
			seen[tc.Driver] = true
			errs = append(errs, tc.Driver.Close())
		}
	}
	return errors.Join(errs...)
}

func (b *Outbox) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Outbox) lock(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &b.locks[h.Sum32()%uint32(len(b.locks))]
}

// newID is a random 63-bit decimal number: CloudPBX's responseId shape,
// and a valid CDR uniqueid.
func newID() string {
	var buf [8]byte
	_, _ = rand.Read(buf[:])
	v := binary.BigEndian.Uint64(buf[:]) >> 1
	if v < 1e18 {
		v += 1e18 // always 19 digits
	}
	return strconv.FormatUint(v, 10)
}

// ValidNumber: a recipient is 3 to 20 digits, optionally after a '+'.
func ValidNumber(s string) bool {
	d := s
	if len(d) > 0 && d[0] == '+' {
		d = d[1:]
	}
	if len(d) < 3 || len(d) > 20 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// ValidBody: 1 to MaxBody characters of UTF-8 without NUL.
func ValidBody(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxBody {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return false
		}
	}
	return true
}

// Send validates and queues a message (durably, before it returns) and
// publishes its QUEUE state. A test request is validated and answered
// with a fresh id but neither stored nor sent.
func (b *Outbox) Send(ctx context.Context, r Request) (Message, error) {
	if !ValidNumber(r.To) {
		return Message{}, fmt.Errorf("sms: to must be 3-20 digits, optionally after '+': %w", pbx.ErrInvalidArgument)
	}
	if !ValidBody(r.Body) {
		return Message{}, fmt.Errorf("sms: body must be 1-%d characters of text: %w", MaxBody, pbx.ErrInvalidArgument)
	}
	tc, ok := b.o.Tenants[r.Tenant]
	if !ok {
		return Message{}, fmt.Errorf("sms: %w: %w", ErrNoGateway, pbx.ErrNotSupported)
	}
	now := b.now()
	m := Message{ID: b.o.NewID(), Tenant: r.Tenant, Owner: r.Owner, From: tc.From, To: r.To, Body: r.Body, State: Queue,
		Queued: now, Updated: now, Driver: tc.Driver.Kind()}
	if r.Test {
		return m, nil
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return Message{}, fmt.Errorf("sms: %w", pbx.ErrShuttingDown)
	}
	err := b.o.Store.InsertSMS(ctx, &m)
	if errors.Is(err, store.ErrConflict) { // a 1-in-2^63 id collision
		m.ID = b.o.NewID()
		err = b.o.Store.InsertSMS(ctx, &m)
	}
	if err != nil {
		return Message{}, fmt.Errorf("sms: store: %w", err)
	}
	b.publish(m)
	b.mu.Lock()
	b.ready = append(b.ready, key{m.Tenant, m.ID})
	b.mu.Unlock()
	b.poke()
	return m, nil
}

// Get returns a tenant's message.
func (b *Outbox) Get(ctx context.Context, tenant, id string) (Message, error) {
	m, err := b.o.Store.GetSMS(ctx, tenant, id)
	if err != nil {
		return Message{}, fmt.Errorf("sms %s: %w", id, err)
	}
	return m, nil
}

// List returns a page of a tenant's messages and the number matching.
func (b *Outbox) List(ctx context.Context, f Filter) ([]Message, int, error) {
	return b.o.Store.QuerySMS(ctx, f)
}

// dispatch starts hand-overs of ready messages, at most Workers at once,
// and moves retries to ready when their time comes.
func (b *Outbox) dispatch() {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		now := b.now()
		next := now.Add(time.Hour)
		for k, at := range b.delayed {
			if !at.After(now) {
				b.ready = append(b.ready, k)
				delete(b.delayed, k)
			} else if at.Before(next) {
				next = at
			}
		}
		var k key
		have := len(b.ready) > 0
		if have {
			k = b.ready[0]
			b.ready = b.ready[1:]
		}
		b.mu.Unlock()
		if have {
			select {
			case b.sem <- struct{}{}:
			case <-b.ctx.Done():
				return
			}
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer func() { <-b.sem }()
				b.attempt(k)
			}()
			continue
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-b.ctx.Done():
			return
		case <-b.wake:
		case <-timer.C:
		}
	}
}

// attempt hands one message to its driver and applies the outcome.
func (b *Outbox) attempt(k key) {
	tc, ok := b.o.Tenants[k.tenant]
	if !ok {
		return
	}
	b.mu.Lock()
	busy := b.inflight[k]
	if busy && !b.closed {
		// Its retry came due while the last hand-over is finishing:
		// look again in a moment.
		b.delayed[k] = b.now().Add(10 * time.Millisecond)
	}
	b.inflight[k] = true
	b.mu.Unlock()
	if busy {
		b.poke()
		return
	}
	defer func() {
		b.mu.Lock()
		delete(b.inflight, k)
		b.mu.Unlock()
	}()
	mu := b.lock(k.id)
	mu.Lock()
	m, err := b.o.Store.GetSMS(b.ctx, k.tenant, k.id)
	if err != nil || (m.State != Queue && m.State != Renewal) {
		mu.Unlock()
		if err != nil && b.ctx.Err() == nil {
			b.log.Error("sms lost from the queue", "sms", k.id, "tenant", k.tenant, "err", err)
		}
		return
	}
	// The attempt is counted durably before the hand-over: a crash while
	// sending retries it (at least once) and never loops forever.
	m.Attempts++
	m.Driver = tc.Driver.Kind()
	m.Updated = b.now()
	err = b.o.Store.UpdateSMS(b.ctx, &m)
	mu.Unlock()
	if err != nil {
		if b.ctx.Err() == nil {
			b.log.Error("sms attempt not recorded", "sms", m.ID, "err", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, sendTimeout)
	res, sendErr := tc.Driver.Send(ctx, m, b)
	cancel()
	if b.ctx.Err() != nil {
		return // closing: the next start retries it
	}
	mu.Lock()
	defer mu.Unlock()
	cur, err := b.o.Store.GetSMS(b.ctx, k.tenant, k.id)
	if err != nil {
		b.log.Error("sms vanished during its hand-over", "sms", m.ID, "err", err)
		return
	}
	if cur.State != Queue && cur.State != Renewal {
		// A report overtook the hand-over (a fast gateway's callback, the
		// sim's first step): keep its state, add what the hand-over said.
		if sendErr == nil && (cur.Ref == "" && res.Ref != "" || res.Costed && !cur.Rated) {
			if cur.Ref == "" {
				cur.Ref = res.Ref
			}
			if res.Costed && !cur.Rated {
				cur.Rated, cur.Cost = true, res.Cost
			}
			if err := b.o.Store.UpdateSMS(context.WithoutCancel(b.ctx), &cur); err != nil {
				b.log.Error("sms reference not stored", "sms", cur.ID, "err", err)
			}
		}
		return
	}
	switch {
	case sendErr != nil && errors.Is(sendErr, ErrTransient) && cur.Attempts < tc.MaxAttempts:
		delay := tc.RetryInitial << (cur.Attempts - 1)
		if delay > tc.RetryMax || delay <= 0 {
			delay = tc.RetryMax
		}
		cur.NextAttempt = b.now().Add(delay)
		cur.Error = sendErr.Error()
		b.log.Warn("sms hand-over failed, retrying", "sms", cur.ID, "tenant", cur.Tenant, "attempt", cur.Attempts, "retry_in", delay.String(), "err", sendErr)
		b.apply(&cur, Renewal)
		b.mu.Lock()
		if !b.closed {
			b.delayed[k] = cur.NextAttempt
		}
		b.mu.Unlock()
		b.poke()
	case sendErr != nil:
		cur.Error = sendErr.Error()
		b.log.Warn("sms failed", "sms", cur.ID, "tenant", cur.Tenant, "attempts", cur.Attempts, "err", sendErr)
		b.apply(&cur, Failed)
	default:
		if cur.Ref == "" {
			cur.Ref = res.Ref
		}
		if res.Costed {
			cur.Rated, cur.Cost = true, res.Cost
		}
		cur.Error = res.Error
		cur.NextAttempt = time.Time{}
		st := res.State
		if st == "" {
			st = Accepted
		}
		b.apply(&cur, st)
	}
}

// Report implements Reporter: a gateway's later word on a message. A
// report that would move the message back (SENT after DELIVERED) or out
// of a final state is ignored.
func (b *Outbox) Report(ctx context.Context, u Update) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return fmt.Errorf("sms report: %w", pbx.ErrShuttingDown)
	}
	if _, ok := ParseState(string(u.State)); !ok {
		return fmt.Errorf("sms report: state %q: %w", u.State, pbx.ErrInvalidArgument)
	}
	id := u.ID
	if id == "" {
		m, err := b.o.Store.SMSByRef(ctx, u.Tenant, u.Ref)
		if err != nil {
			return fmt.Errorf("sms report for ref %q: %w", u.Ref, err)
		}
		id = m.ID
	}
	mu := b.lock(id)
	mu.Lock()
	defer mu.Unlock()
	m, err := b.o.Store.GetSMS(ctx, u.Tenant, id)
	if err != nil {
		return fmt.Errorf("sms report %s: %w", id, err)
	}
	if m.State.Final() || u.State.rank() < m.State.rank() || u.State == m.State || u.State == Queue || u.State == Renewal {
		return nil
	}
	if u.Costed {
		m.Rated, m.Cost = true, u.Cost
	}
	if u.Error != "" {
		m.Error = u.Error
	}
	b.apply(&m, u.State)
	return nil
}

// apply moves m to st (the caller holds m's lock): timestamps, the
// stored row, the event and, on a final state, the CDR.
func (b *Outbox) apply(m *Message, st State) {
	now := b.now()
	changed := m.State != st
	m.State = st
	m.Updated = now
	switch {
	case st == Accepted:
		m.Accepted = now
	case st == Sent:
		m.Sent = now
	case st.Final():
		m.Done = now
		if st == Delivered {
			m.Error = ""
		}
		b.price(m)
	}
	if err := b.o.Store.UpdateSMS(context.WithoutCancel(b.ctx), m); err != nil {
		b.log.Error("sms state not stored", "sms", m.ID, "state", string(st), "err", err)
		return
	}
	// The CDR before the event: a client that sees the final state finds
	// the message's CDR.
	if st.Final() {
		b.writeCDR(*m)
	}
	if changed {
		b.publish(*m)
	}
}

// price sets the zone and, when the gateway gave none, the cost from the
// rate table. A message the operator never took (FAILED, REJECTED)
// costs nothing.
func (b *Outbox) price(m *Message) {
	if b.o.Pricer == nil {
		return
	}
	zone, cost, ok := b.o.Pricer(m.Tenant, m.To)
	if !ok {
		return
	}
	m.Zone = zone
	if !m.Rated {
		m.Rated, m.Cost = true, cost
		if m.State == Failed || m.State == Rejected {
			m.Cost = 0
		}
	}
}

func (b *Outbox) publish(m Message) {
	if b.o.Publisher == nil {
		return
	}
	data := map[string]string{"id": m.ID, "to": m.To, "status": string(m.State), "owner": m.Owner}
	if m.Error != "" {
		data["error"] = m.Error
	}
	if m.Rated {
		data["cost"] = strconv.FormatInt(m.Cost, 10)
	}
	if err := b.o.Publisher.Publish(m.Tenant, pbx.Event{Type: EvStatus, Time: m.Updated, Data: data}); err != nil && !errors.Is(err, pbx.ErrShuttingDown) {
		b.log.Warn("sms event not published", "sms", m.ID, "err", err)
	}
}

// Disposition is a finished message's CDR disposition.
func Disposition(st State) pbx.Disposition {
	switch st {
	case Delivered, Sent, Unknown:
		return pbx.DispAnswered
	case Undelivered, Expired:
		return pbx.DispNoAnswer
	}
	return pbx.DispFailed
}

// writeCDR records a finished message: uniqueid is the message id (the
// spec's way to find an SMS's billing row), src and dst the sender and
// recipient, lastapp "SMS", no duration (a message has no talk time).
func (b *Outbox) writeCDR(m Message) {
	if b.o.CDRs == nil {
		return
	}
	// CLID as Asterisk writes it: a numeric sender is the number, a name
	// the name.
	clid := fmt.Sprintf(`"" <%s>`, m.From)
	if !ValidNumber(m.From) {
		clid = fmt.Sprintf(`"%s" <>`, strings.ReplaceAll(m.From, `"`, ""))
	}
	c := pbx.CDR{Tenant: m.Tenant, CallDate: m.Queued, EndDate: m.Done, CLID: clid,
		Src: m.From, Dst: m.To, Channel: "SMS/" + m.Driver, LastApp: "SMS", Disposition: Disposition(m.State),
		UniqueID: m.ID, EndStatus: string(m.State), Rated: m.Rated, Zone: m.Zone, Cost: m.Cost, HangupBy: "system"}
	if m.State == Delivered {
		c.AnswerDate = m.Done
	}
	if err := b.o.CDRs.InsertCDR(context.WithoutCancel(b.ctx), &c); err != nil {
		b.log.Error("sms cdr not written", "sms", m.ID, "err", err)
	}
}
