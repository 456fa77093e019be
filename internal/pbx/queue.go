package pbx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Queue strategies, as Asterisk names them (the specs' q_* operations
// come from Asterisk).
const (
	StrategyRingAll     = "ringall"
	StrategyLeastRecent = "leastrecent"
	StrategyFewestCalls = "fewestcalls"
	StrategyRRMemory    = "rrmemory"
	StrategyRandom      = "random"
	StrategyLinear      = "linear"
)

// QueueEntry configures a queue.
type QueueEntry struct {
	Name     string
	Number   string
	Strategy string
	Members  []QueueMemberEntry // static members, in order (linear, rrmemory)
	// RingTimeout is how long an agent rings per attempt (default 15 s);
	// Retry the pause after an attempt nobody answered (default 5 s);
	// WrapUp the rest an agent gets after each queue call.
	RingTimeout, Retry, WrapUp time.Duration
	// MaxWait and MaxLen bound waiting; a caller beyond them goes to
	// Overflow (a number) or, without one, is hung up.
	MaxWait  time.Duration
	MaxLen   int
	Overflow string
	// JoinEmpty lets callers join a queue with no logged-in member;
	// LeaveWhenEmpty sends waiting callers to Overflow when the last
	// member logs out.
	JoinEmpty      bool
	LeaveWhenEmpty bool
	// MusicOnHold is a WAV file (8 kHz 16-bit mono) played to waiting
	// callers; empty means a generated tone.
	MusicOnHold string
	// AnnounceEvery tells each waiting caller its position this often:
	// AnnounceDir/position-<n>.wav when it exists, else n beeps. Zero
	// disables announcements.
	AnnounceEvery time.Duration
	AnnounceDir   string
}

// QueueMemberEntry is a static member.
type QueueMemberEntry struct {
	Number  string
	Penalty int
}

// Member status values of the CloudPBX spec (qmember m_status).
const (
	MemberUnknown     = 0
	MemberFree        = 1
	MemberInUse       = 2
	MemberBusy        = 3
	MemberInvalid     = 4
	MemberUnavailable = 5
	MemberRinging     = 6
	MemberRingInUse   = 7
	MemberOnHold      = 8
)

// QueueMember is a snapshot of an agent in a queue.
type QueueMember struct {
	Queue      string
	Number     string
	Name       string
	Dynamic    bool
	Penalty    int
	Paused     bool
	Reason     string
	Status     int
	CallsTaken int
	LastCall   time.Time
	WrapUntil  time.Time
}

// QueueCaller is a call in a queue: waiting (Position > 0) or connected to
// an agent (Position 0, Agent set).
type QueueCaller struct {
	Queue        string
	Position     int
	CallID       string
	Channel      string
	UniqueID     string
	CallerIDNum  string
	CallerIDName string
	Joined       time.Time
	WaitSeconds  int
	Agent        string
	AgentChannel string
}

// Queue is a snapshot of a queue.
type Queue struct {
	Name     string
	Number   string
	Strategy string
	Waiting  int
	Members  []QueueMember
}

// Reasons a caller leaves a queue.
const (
	LeaveAnswered   = "answered"
	LeaveAbandoned  = "abandoned"
	LeaveTimeout    = "timeout"
	LeaveRemoved    = "removed"
	LeaveRedirected = "redirected"
	LeaveFull       = "full"
	LeaveEmpty      = "empty"
)

// QueueExit tells the engine to take a caller out of the queue: to Dest
// (a number) or, if empty, by hanging up.
type QueueExit struct {
	Reason string
	Dest   string
}

// QueueOffer is what the core asks of the engine for a waiting caller:
// ring Agents (all at once) for Timeout, or, when Exit is set, take the
// caller out.
type QueueOffer struct {
	Agents  []string
	Timeout time.Duration
	Exit    *QueueExit
}

// Waiter is an engine's handle on a caller in a queue. The engine reads
// Offers and reports what became of each.
type Waiter struct {
	c      *Core
	tenant string
	q      *queueState
	callID string
	ch     Channel
	joined time.Time
	offers chan QueueOffer

	// guarded by c.mu
	ringing   []string
	notBefore time.Time
	agent     string
	agentCh   string
	done      bool
	linearPos int
	timer     *time.Timer
	wait      time.Duration // from joining to the agent's answer
}

// Offers delivers the core's requests; it is never closed (the engine
// stops reading when the call ends and calls Leave).
func (w *Waiter) Offers() <-chan QueueOffer { return w.offers }

type queueState struct {
	cfg     QueueEntry
	waiting []*Waiter // in service order
	active  []*Waiter // connected to an agent
	members []*memberState
	rrNext  int
}

type memberState struct {
	ext       string
	dynamic   bool
	penalty   int
	paused    bool
	reason    string
	calls     int
	lastCall  time.Time
	wrapUntil time.Time
	ringing   *Waiter
	talking   bool
}

// QueueLogEntry is one line of the durable queue log (Asterisk's
// queue_log events), from which statistics are computed.
type QueueLogEntry struct {
	Time   time.Time
	Tenant string
	Queue  string
	CallID string
	Agent  string
	Event  string // ENTERQUEUE, CONNECT, COMPLETE, ABANDON, EXITWITHTIMEOUT, EXITEMPTY, FULL, REMOVED, RINGNOANSWER, ADDMEMBER, REMOVEMEMBER, PAUSE, UNPAUSE
	Wait   time.Duration
	Talk   time.Duration
	Info   string
}

// QueueLogger persists queue log entries; the core writes them from one
// goroutine in order.
type QueueLogger interface {
	InsertQueueLog(ctx context.Context, entries []QueueLogEntry) error
}

func (c *Core) queueLocked(tenant, name string) (*tenantState, *queueState, error) {
	t := c.tenants[tenant]
	if t == nil {
		return nil, nil, ErrUnknownTenant
	}
	q := t.queues[name]
	if q == nil {
		for _, x := range t.queues {
			if x.cfg.Number == name {
				q = x
			}
		}
	}
	if q == nil {
		return t, nil, fmt.Errorf("queue %q: %w", name, ErrNotFound)
	}
	return t, q, nil
}

// QueueByNumber names the queue a dialled number reaches, if any.
func (c *Core) QueueByNumber(tenant, number string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return "", false
	}
	for _, q := range t.queues {
		if q.cfg.Number == number {
			return q.cfg.Name, true
		}
	}
	return "", false
}

// QueueConfig returns a queue's configuration.
func (c *Core) QueueConfig(tenant, name string) (QueueEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, q, err := c.queueLocked(tenant, name)
	if err != nil {
		return QueueEntry{}, err
	}
	return q.cfg, nil
}

// logQueue queues a queue log entry; callers hold c.mu, which orders it
// against Close.
func (c *Core) logQueue(e QueueLogEntry) {
	if c.qlog == nil || c.closing {
		return
	}
	if e.Time.IsZero() {
		e.Time = c.now()
	}
	if !c.qlog.Add(e) {
		c.log.Error("queue log full; entry dropped", "queue", e.Queue, "event", e.Event)
	}
}

// statusLocked derives the CloudPBX member status from the extension.
func (t *tenantState) memberStatusLocked(m *memberState) int {
	e := t.exts[m.ext]
	if e == nil {
		return MemberInvalid
	}
	switch {
	case e.reg == nil:
		return MemberUnavailable
	case e.state == StateOnHold:
		return MemberOnHold
	case e.state&StateRinging != 0 && e.state&StateInUse != 0:
		return MemberRingInUse
	case e.state&StateRinging != 0 || m.ringing != nil:
		return MemberRinging
	case e.state&(StateInUse|StateConnecting) != 0:
		return MemberInUse
	case e.state == StateBusy:
		return MemberBusy
	case e.state == StateIdle:
		return MemberFree
	}
	return MemberUnknown
}

func (t *tenantState) memberSnapshotLocked(q *queueState, m *memberState) QueueMember {
	name := ""
	if e := t.exts[m.ext]; e != nil {
		name = e.name
	}
	return QueueMember{Queue: q.cfg.Name, Number: m.ext, Name: name, Dynamic: m.dynamic, Penalty: m.penalty,
		Paused: m.paused, Reason: m.reason, Status: t.memberStatusLocked(m), CallsTaken: m.calls,
		LastCall: m.lastCall, WrapUntil: m.wrapUntil}
}

func (q *queueState) snapshotLocked(t *tenantState) Queue {
	out := Queue{Name: q.cfg.Name, Number: q.cfg.Number, Strategy: q.cfg.Strategy, Waiting: len(q.waiting), Members: []QueueMember{}}
	for _, m := range q.members {
		out.Members = append(out.Members, t.memberSnapshotLocked(q, m))
	}
	return out
}

func (c *Core) publishQueueLocked(t *tenantState, q *queueState, typ EventType, m *memberState, w *Waiter, cause string) {
	snap := q.snapshotLocked(t)
	ev := Event{Type: typ, Queue: &snap, Cause: cause}
	if m != nil {
		ms := t.memberSnapshotLocked(q, m)
		ev.Member = &ms
	}
	if w != nil {
		qc := w.callerLocked(q)
		ev.Caller = &qc
	}
	c.publishLocked(t.name, ev)
}

func (w *Waiter) callerLocked(q *queueState) QueueCaller {
	qc := QueueCaller{Queue: q.cfg.Name, CallID: w.callID, Channel: w.ch.Name, UniqueID: w.ch.UniqueID,
		CallerIDNum: w.ch.CallerIDNum, CallerIDName: w.ch.CallerIDName, Joined: w.joined,
		WaitSeconds: int(w.c.now().Sub(w.joined) / time.Second), Agent: w.agent, AgentChannel: w.agentCh}
	if i := slices.Index(q.waiting, w); i >= 0 {
		qc.Position = i + 1
	}
	return qc
}

// Queues lists a tenant's queues.
func (c *Core) Queues(tenant string) ([]Queue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil, ErrUnknownTenant
	}
	out := make([]Queue, 0, len(t.queues))
	for _, q := range t.queues {
		out = append(out, q.snapshotLocked(t))
	}
	slices.SortFunc(out, func(a, b Queue) int { return compareStrings(a.Name, b.Name) })
	return out, nil
}

// QueueCalls lists a queue's calls: waiting ones in order, then those
// connected to an agent (WebTAPI q_call_list).
func (c *Core) QueueCalls(tenant, queue string) ([]QueueCaller, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, q, err := c.queueLocked(tenant, queue)
	if err != nil {
		return nil, err
	}
	out := []QueueCaller{}
	for _, w := range q.waiting {
		out = append(out, w.callerLocked(q))
	}
	for _, w := range q.active {
		out = append(out, w.callerLocked(q))
	}
	return out, nil
}

func (q *queueState) loggedIn() int { return len(q.members) }

// QueueJoin puts the call's channel ch into queue. It returns the waiter
// the engine serves the caller through, or a QueueExit when the caller
// may not wait (full, empty) — the engine then sends it to Dest.
func (c *Core) QueueJoin(tenant, queue string, ch *Channel) (*Waiter, *QueueExit, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, q, err := c.queueLocked(tenant, queue)
	if err != nil {
		return nil, nil, err
	}
	now := c.now()
	switch {
	case q.cfg.MaxLen > 0 && len(q.waiting) >= q.cfg.MaxLen:
		c.logQueue(QueueLogEntry{Tenant: tenant, Queue: q.cfg.Name, CallID: ch.CallID, Event: "FULL"})
		return nil, &QueueExit{Reason: LeaveFull, Dest: q.cfg.Overflow}, nil
	case !q.cfg.JoinEmpty && q.loggedIn() == 0:
		c.logQueue(QueueLogEntry{Tenant: tenant, Queue: q.cfg.Name, CallID: ch.CallID, Event: "JOINEMPTY"})
		return nil, &QueueExit{Reason: LeaveEmpty, Dest: q.cfg.Overflow}, nil
	}
	w := &Waiter{c: c, tenant: tenant, q: q, callID: ch.CallID, ch: *ch, joined: now, offers: make(chan QueueOffer, 4)}
	q.waiting = append(q.waiting, w)
	if q.cfg.MaxWait > 0 {
		w.timer = time.AfterFunc(q.cfg.MaxWait, func() { c.queueTimeout(w) })
	}
	c.logQueue(QueueLogEntry{Tenant: tenant, Queue: q.cfg.Name, CallID: w.callID, Event: "ENTERQUEUE", Info: ch.CallerIDNum})
	c.publishQueueLocked(t, q, EvQueueJoin, nil, w, "")
	c.dispatchLocked(t, q)
	return w, nil, nil
}

func (c *Core) queueTimeout(w *Waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w.done || w.agent != "" {
		return
	}
	c.exitLocked(w, QueueExit{Reason: LeaveTimeout, Dest: w.q.cfg.Overflow})
}

// exitLocked takes a waiting caller out and tells the engine where to.
func (c *Core) exitLocked(w *Waiter, x QueueExit) {
	t := c.tenants[w.tenant]
	q := w.q
	c.stopRingingLocked(w)
	event := map[string]string{LeaveTimeout: "EXITWITHTIMEOUT", LeaveRemoved: "REMOVED", LeaveEmpty: "EXITEMPTY"}[x.Reason]
	c.logQueue(QueueLogEntry{Tenant: w.tenant, Queue: q.cfg.Name, CallID: w.callID, Event: event, Wait: c.now().Sub(w.joined), Info: x.Dest})
	c.leaveLocked(t, q, w, x.Reason)
	select {
	case w.offers <- QueueOffer{Exit: &x}:
	default:
		// The engine has unread offers; it is serving this caller and
		// will see done on its next report.
	}
}

// leaveLocked removes w from the waiting list and publishes the leave.
func (c *Core) leaveLocked(t *tenantState, q *queueState, w *Waiter, reason string) {
	if w.done {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	ev := w.callerLocked(q)
	if i := slices.Index(q.waiting, w); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
	}
	if reason != LeaveAnswered {
		w.done = true
	}
	snap := q.snapshotLocked(t)
	c.publishLocked(t.name, Event{Type: EvQueueLeave, Queue: &snap, Caller: &ev, Cause: reason})
	c.dispatchLocked(t, q)
}

func (c *Core) stopRingingLocked(w *Waiter) {
	for _, a := range w.ringing {
		for _, m := range w.q.members {
			if m.ext == a && m.ringing == w {
				m.ringing = nil
			}
		}
	}
	w.ringing = nil
}

// RingResult reports the end of an offer: agent answered, or "" when
// nobody did (noAnswer lists who rang in vain). It returns false if the
// caller was taken out meanwhile (the engine must then drop the agent).
func (w *Waiter) RingResult(agent, agentChannel string, noAnswer []string) bool {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[w.tenant]
	q := w.q
	c.stopRingingLocked(w)
	for _, a := range noAnswer {
		c.logQueue(QueueLogEntry{Tenant: w.tenant, Queue: q.cfg.Name, CallID: w.callID, Agent: a, Event: "RINGNOANSWER"})
	}
	if w.done {
		return false
	}
	if agent == "" {
		w.notBefore = c.now().Add(q.cfg.Retry)
		if q.cfg.Retry > 0 {
			time.AfterFunc(q.cfg.Retry, func() { c.kickQueue(w.tenant, q) })
		}
		c.dispatchLocked(t, q)
		return true
	}
	w.agent, w.agentCh = agent, agentChannel
	now := c.now()
	w.wait = now.Sub(w.joined)
	for _, m := range q.members {
		if m.ext == agent {
			m.talking = true
			m.calls++
			m.lastCall = now
			c.publishQueueLocked(t, q, EvQueueMemberStatus, m, nil, "")
		}
	}
	c.logQueue(QueueLogEntry{Tenant: w.tenant, Queue: q.cfg.Name, CallID: w.callID, Agent: agent, Event: "CONNECT", Wait: now.Sub(w.joined)})
	c.leaveLocked(t, q, w, LeaveAnswered)
	q.active = append(q.active, w)
	return true
}

// Leave reports that the call ended: a waiting caller abandoned, a
// connected one completed (wrap-up starts for its agent).
func (w *Waiter) Leave(by string) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[w.tenant]
	q := w.q
	now := c.now()
	if w.agent != "" && !w.done {
		w.done = true
		if i := slices.Index(q.active, w); i >= 0 {
			q.active = slices.Delete(q.active, i, i+1)
		}
		talk := time.Duration(0)
		var m *memberState
		for _, x := range q.members {
			if x.ext == w.agent {
				m = x
			}
		}
		if m != nil {
			talk = now.Sub(m.lastCall)
			m.talking = false
			if q.cfg.WrapUp > 0 {
				m.wrapUntil = now.Add(q.cfg.WrapUp)
				time.AfterFunc(q.cfg.WrapUp, func() { c.kickQueue(w.tenant, q) })
			}
		}
		ev := "COMPLETECALLER"
		if by == "callee" {
			ev = "COMPLETEAGENT"
		}
		c.logQueue(QueueLogEntry{Tenant: w.tenant, Queue: q.cfg.Name, CallID: w.callID, Agent: w.agent, Event: ev, Wait: w.wait, Talk: talk})
		if m != nil {
			c.publishQueueLocked(t, q, EvQueueMemberStatus, m, nil, "")
		}
		c.dispatchLocked(t, q)
		return
	}
	if w.done {
		return
	}
	c.stopRingingLocked(w)
	pos := slices.Index(q.waiting, w) + 1
	c.logQueue(QueueLogEntry{Tenant: w.tenant, Queue: q.cfg.Name, CallID: w.callID, Event: "ABANDON", Wait: now.Sub(w.joined), Info: fmt.Sprint(pos)})
	c.leaveLocked(t, q, w, LeaveAbandoned)
}

// Redirected reports that a connected or waiting call left the queue by a
// transfer.
func (w *Waiter) Redirected() {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !w.done && w.agent == "" {
		c.leaveLocked(c.tenants[w.tenant], w.q, w, LeaveRedirected)
	}
}

// kickQueue re-dispatches when a retry pause or a wrap-up ends. The
// timers are not tracked: one firing after Close finds no engine reading
// and does nothing.
func (c *Core) kickQueue(tenant string, q *queueState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tenants[tenant]; t != nil && !c.closing {
		c.dispatchLocked(t, q)
	}
}

// availableLocked reports whether m may be offered a call now.
func (t *tenantState) availableLocked(m *memberState, now time.Time) bool {
	if m.paused || m.ringing != nil || m.talking || now.Before(m.wrapUntil) {
		return false
	}
	e := t.exts[m.ext]
	return e != nil && e.reg != nil && e.state == StateIdle
}

// dispatchLocked offers agents to waiting callers in order, as far as
// free agents go (several callers ring different agents at once).
func (c *Core) dispatchLocked(t *tenantState, q *queueState) {
	now := c.now()
	for _, w := range q.waiting {
		if len(w.ringing) > 0 || w.done || now.Before(w.notBefore) {
			continue
		}
		agents := c.pickLocked(t, q, w, now)
		if len(agents) == 0 {
			return // nobody free: later callers must not jump ahead
		}
		for _, a := range agents {
			for _, m := range q.members {
				if m.ext == a {
					m.ringing = w
				}
			}
		}
		w.ringing = agents
		select {
		case w.offers <- QueueOffer{Agents: agents, Timeout: q.cfg.RingTimeout}:
		default:
			c.stopRingingLocked(w)
			return
		}
	}
}

// pickLocked chooses whom to ring for w by the queue's strategy among the
// free members of the lowest penalty that has any.
func (c *Core) pickLocked(t *tenantState, q *queueState, w *Waiter, now time.Time) []string {
	var free []*memberState
	best := int(^uint(0) >> 1)
	for _, m := range q.members {
		if !t.availableLocked(m, now) {
			continue
		}
		switch {
		case m.penalty < best:
			best, free = m.penalty, []*memberState{m}
		case m.penalty == best:
			free = append(free, m)
		}
	}
	if len(free) == 0 {
		return nil
	}
	switch q.cfg.Strategy {
	case StrategyRingAll:
		out := make([]string, len(free))
		for i, m := range free {
			out[i] = m.ext
		}
		return out
	case StrategyLeastRecent:
		pick := free[0]
		for _, m := range free[1:] {
			if m.lastCall.Before(pick.lastCall) {
				pick = m
			}
		}
		return []string{pick.ext}
	case StrategyFewestCalls:
		pick := free[0]
		for _, m := range free[1:] {
			if m.calls < pick.calls {
				pick = m
			}
		}
		return []string{pick.ext}
	case StrategyRandom:
		return []string{free[rand.IntN(len(free))].ext}
	case StrategyRRMemory:
		// The member after the one rung last, in configured order.
		n := len(q.members)
		for i := range n {
			m := q.members[(q.rrNext+i)%n]
			if slices.Contains(free, m) {
				q.rrNext = (q.rrNext + i + 1) % n
				return []string{m.ext}
			}
		}
	case StrategyLinear:
		// In configured order; a caller who was not answered moves on.
		n := len(q.members)
		for i := range n {
			m := q.members[(w.linearPos+i)%n]
			if slices.Contains(free, m) {
				w.linearPos = (w.linearPos + i + 1) % n
				return []string{m.ext}
			}
		}
	}
	return []string{free[0].ext}
}

// onExtensionChangeLocked re-dispatches queues when an extension's state
// changed (an agent became free or unavailable).
func (c *Core) onExtensionChangeLocked(t *tenantState, ext string) {
	for _, q := range t.queues {
		for _, m := range q.members {
			if m.ext == ext {
				c.publishQueueLocked(t, q, EvQueueMemberStatus, m, nil, "")
				c.dispatchLocked(t, q)
			}
		}
	}
}

// QueueLogin adds extension ext as a dynamic member (or, with login
// false, removes it). Static members cannot be removed.
func (c *Core) QueueLogin(tenant, queue, ext string, login bool, penalty int) (QueueMember, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, q, err := c.queueLocked(tenant, queue)
	if err != nil {
		return QueueMember{}, err
	}
	if t.exts[ext] == nil {
		return QueueMember{}, fmt.Errorf("queue member %s: %w", ext, ErrUnknownExten)
	}
	i := slices.IndexFunc(q.members, func(m *memberState) bool { return m.ext == ext })
	if login {
		if i >= 0 {
			return QueueMember{}, fmt.Errorf("%s is already a member of %s: %w", ext, q.cfg.Name, ErrBusy)
		}
		m := &memberState{ext: ext, dynamic: true, penalty: penalty}
		q.members = append(q.members, m)
		c.logQueue(QueueLogEntry{Tenant: tenant, Queue: q.cfg.Name, Agent: ext, Event: "ADDMEMBER"})
		c.publishQueueLocked(t, q, EvQueueMemberAdded, m, nil, "")
		c.dispatchLocked(t, q)
		return t.memberSnapshotLocked(q, m), nil
	}
	if i < 0 {
		return QueueMember{}, fmt.Errorf("%s is not a member of %s: %w", ext, q.cfg.Name, ErrNotFound)
	}
	m := q.members[i]
	if !m.dynamic {
		return QueueMember{}, fmt.Errorf("%s is a static member of %s (configured); pause it instead: %w", ext, q.cfg.Name, ErrInvalidArgument)
	}
	snap := t.memberSnapshotLocked(q, m)
	q.members = slices.Delete(q.members, i, i+1)
	if q.rrNext >= len(q.members) {
		q.rrNext = 0
	}
	c.logQueue(QueueLogEntry{Tenant: tenant, Queue: q.cfg.Name, Agent: ext, Event: "REMOVEMEMBER"})
	qs := q.snapshotLocked(t)
	c.publishLocked(tenant, Event{Type: EvQueueMemberRemoved, Queue: &qs, Member: &snap})
	if q.cfg.LeaveWhenEmpty && len(q.members) == 0 {
		for _, w := range slices.Clone(q.waiting) {
			c.exitLocked(w, QueueExit{Reason: LeaveEmpty, Dest: q.cfg.Overflow})
		}
	}
	return snap, nil
}

// MaxReasonLen bounds a pause reason: it is logged and sent in events.
const MaxReasonLen = 64

// QueuePause pauses (or unpauses) ext in queue, or in every queue it is a
// member of when queue is "".
func (c *Core) QueuePause(tenant, queue, ext string, paused bool, reason string) ([]QueueMember, error) {
	if err := checkText("pause reason", reason, MaxReasonLen); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil, ErrUnknownTenant
	}
	var qs []*queueState
	if queue != "" {
		_, q, err := c.queueLocked(tenant, queue)
		if err != nil {
			return nil, err
		}
		qs = []*queueState{q}
	} else {
		for _, q := range t.queues {
			qs = append(qs, q)
		}
	}
	var out []QueueMember
	for _, q := range qs {
		for _, m := range q.members {
			if m.ext != ext {
				continue
			}
			m.paused, m.reason = paused, reason
			ev, typ := "UNPAUSE", EvQueueMemberUnpaused
			if paused {
				ev, typ = "PAUSE", EvQueueMemberPaused
			}
			c.logQueue(QueueLogEntry{Tenant: tenant, Queue: q.cfg.Name, Agent: ext, Event: ev, Info: reason})
			c.publishQueueLocked(t, q, typ, m, nil, reason)
			out = append(out, t.memberSnapshotLocked(q, m))
			c.dispatchLocked(t, q)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is not a member of any queue named: %w", ext, ErrNotFound)
	}
	return out, nil
}

// QueueToggleLogin is the *45 feature code: ext logs into queue (number or
// name; every queue of the tenant when empty) if it is not a dynamic
// member there yet, else out. Static members are always in and are left
// alone.
func (c *Core) QueueToggleLogin(tenant, ext, queue string) (loggedIn bool, err error) {
	c.mu.Lock()
	t := c.tenants[tenant]
	if t == nil {
		c.mu.Unlock()
		return false, ErrUnknownTenant
	}
	var names []string
	member := false
	for _, q := range t.queues {
		if queue != "" && q.cfg.Name != queue && q.cfg.Number != queue {
			continue
		}
		names = append(names, q.cfg.Name)
		if slices.ContainsFunc(q.members, func(m *memberState) bool { return m.ext == ext && m.dynamic }) {
			member = true
		}
	}
	c.mu.Unlock()
	if len(names) == 0 {
		return false, fmt.Errorf("queue %q: %w", queue, ErrNotFound)
	}
	for _, n := range names {
		_, err := c.QueueLogin(tenant, n, ext, !member, 0)
		if err != nil && !isAny(err, ErrBusy, ErrNotFound, ErrInvalidArgument) {
			return false, err
		}
	}
	return !member, nil
}

// QueueShift moves a waiting caller to position pos (1 = next served).
func (c *Core) QueueShift(tenant, queue, callID string, pos int) (QueueCaller, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, q, err := c.queueLocked(tenant, queue)
	if err != nil {
		return QueueCaller{}, err
	}
	i := slices.IndexFunc(q.waiting, func(w *Waiter) bool { return w.callID == callID || w.ch.UniqueID == callID || w.ch.Name == callID })
	if i < 0 {
		return QueueCaller{}, fmt.Errorf("%s is not waiting in %s: %w", callID, q.cfg.Name, ErrNotFound)
	}
	if pos < 1 || pos > len(q.waiting) {
		return QueueCaller{}, fmt.Errorf("position %d is outside 1-%d: %w", pos, len(q.waiting), ErrInvalidArgument)
	}
	w := q.waiting[i]
	q.waiting = slices.Delete(q.waiting, i, i+1)
	q.waiting = slices.Insert(q.waiting, pos-1, w)
	c.publishQueueLocked(t, q, EvQueueShift, nil, w, "")
	c.dispatchLocked(t, q)
	return w.callerLocked(q), nil
}

// QueueRemove takes a waiting caller out of the queue: to dest, or hung
// up when dest is empty (WebTAPI q_caller_del).
func (c *Core) QueueRemove(tenant, queue, callID, dest string) error {
	if dest != "" && !validNumber(dest) {
		return fmt.Errorf("queue remove: %q is not a dialable number: %w", dest, ErrInvalidArgument)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, q, err := c.queueLocked(tenant, queue)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(q.waiting, func(w *Waiter) bool { return w.callID == callID || w.ch.UniqueID == callID || w.ch.Name == callID })
	if i < 0 {
		return fmt.Errorf("%s is not waiting in %s: %w", callID, q.cfg.Name, ErrNotFound)
	}
	c.exitLocked(q.waiting[i], QueueExit{Reason: LeaveRemoved, Dest: dest})
	return nil
}

func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// QueueStatsFilter selects the log range statistics cover.
type QueueStatsFilter struct {
	Tenant string
	Queue  string // "" = every queue
	From   time.Time
	To     time.Time
	// ServiceLevel is the answer time that counts as within service
	// (default 20 s).
	ServiceLevel time.Duration
}

// QueueStats are a queue's figures over a time range.
type QueueStats struct {
	Queue            string
	Offered          int
	Answered         int
	Abandoned        int
	TimedOut         int
	Other            int // full, empty, removed
	AvgWaitSeconds   float64
	P90WaitSeconds   float64
	ServiceLevelPct  float64 // answered within ServiceLevel, of offered
	AvgTalkSeconds   float64
	AvgAbandonSecond float64
}

// AgentStats are an agent's figures over a time range.
type AgentStats struct {
	Queue          string
	Agent          string
	Answered       int
	RingNoAnswer   int
	AvgTalkSeconds float64
	TalkSeconds    float64
}
