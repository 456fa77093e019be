package webtapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func isNotFound(err error) bool {
	return errors.Is(err, pbx.ErrNotFound) || errors.Is(err, pbx.ErrUnknownExten)
}

// queueParam is the required q_name.
func (c *call) queueParam() (string, error) {
	q := c.req.p.get("q_name")
	if !queueName(q) {
		return "", fmt.Errorf("q_name %q: %w", clip(q), errParam)
	}
	c.target = q
	return q, nil
}

// queueList is action=q_list: "name!number!strategy!waiting!members" per
// queue.
func (a *API) queueList(c *call) error {
	qs, err := a.d.Service.Queues(c.p)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, q := range qs {
		queueLine(&b, q)
	}
	c.text(b.String())
	return nil
}

// findQueue is one queue by name, with its members.
func (a *API) findQueue(c *call, name string) (pbx.Queue, error) {
	qs, err := a.d.Service.Queues(c.p)
	if err != nil {
		return pbx.Queue{}, err
	}
	for _, q := range qs {
		if q.Name == name {
			return q, nil
		}
	}
	return pbx.Queue{}, fmt.Errorf("queue %q: %w", name, pbx.ErrNotFound)
}

// agentList is action=agent_list: the queue's agents (static and logged
// in), "extension!name!status!paused!penalty!calls" each.
func (a *API) agentList(c *call) error {
	name, err := c.queueParam()
	if err != nil {
		return err
	}
	q, err := a.findQueue(c, name)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, m := range q.Members {
		agentLine(&b, m)
	}
	c.text(b.String())
	return nil
}

// agentLogin is action=agent_login: src (default the session user's
// extension) joins q_name as a dynamic agent.
func (a *API) agentLogin(c *call) error { return a.agentMembership(c, true) }

// agentLogout is action=agent_logout: src leaves q_name.
func (a *API) agentLogout(c *call) error { return a.agentMembership(c, false) }

func (a *API) agentMembership(c *call, login bool) error {
	name, err := c.queueParam()
	if err != nil {
		return err
	}
	src, err := c.agentSrc()
	if err != nil {
		return err
	}
	c.target = name + ":" + src
	if _, err := a.d.Service.QueueLogin(c.p, name, src, login, 0); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// agentSrc is the agent: src or the session user's extension. Unlike
// call's src, another extension is the service's to refuse (supervisors
// manage other agents).
func (c *call) agentSrc() (string, error) {
	s := c.req.p.get("src")
	if s == "" {
		s = c.p.Extension
	}
	if !number(s) {
		return "", fmt.Errorf("src %q: %w", clip(s), errParam)
	}
	return s, nil
}

// queueCallList is action=q_call_list: the queue's calls, waiting and
// connected, in the concise channel format (the caller's channel, with its
// agent's channel as the bridged one).
func (a *API) queueCallList(c *call) error {
	name, err := c.queueParam()
	if err != nil {
		return err
	}
	callers, err := a.d.Service.QueueCalls(c.p, name)
	if err != nil {
		return err
	}
	calls, err := a.d.Service.Calls(c.p)
	if err != nil {
		return err
	}
	byID := make(map[string]pbx.Call, len(calls))
	for _, x := range calls {
		byID[x.ID] = x
	}
	now := a.now()
	var b strings.Builder
	for _, qc := range callers {
		x, ok := byID[qc.CallID]
		if !ok {
			continue // not visible to this principal, or just ended
		}
		for _, ch := range x.Channels {
			if ch.UniqueID == qc.UniqueID || ch.Name == qc.Channel {
				conciseLine(&b, x, ch, qc.AgentChannel, now)
			}
		}
	}
	c.text(b.String())
	return nil
}

// queueWaitingList is action=q_waiting_list: the callers waiting in q_name
// (every queue when q_name is absent, as in the spec's example), in
// order, "q_name!position!channel!callerid!calleridname!wait!uniqueid".
func (a *API) queueWaitingList(c *call) error {
	var names []string
	if _, has := c.req.p["q_name"]; has {
		name, err := c.queueParam()
		if err != nil {
			return err
		}
		names = []string{name}
	} else {
		qs, err := a.d.Service.Queues(c.p)
		if err != nil {
			return err
		}
		for _, q := range qs {
			names = append(names, q.Name)
		}
	}
	var b strings.Builder
	for _, n := range names {
		callers, err := a.d.Service.QueueCalls(c.p, n)
		if err != nil {
			return err
		}
		for _, qc := range callers {
			if qc.Position > 0 {
				waitingLine(&b, qc)
			}
		}
	}
	c.text(b.String())
	return nil
}

// queueShift is action=q_shift_caller: the caller of chan waiting in
// q_name moves to position pos (1 = served next).
func (a *API) queueShift(c *call) error {
	name, err := c.queueParam()
	if err != nil {
		return err
	}
	ch, err := c.channel()
	if err != nil {
		return err
	}
	pos, ok := positiveInt(c.req.p.get("pos"))
	if !ok {
		return fmt.Errorf("pos %q: %w", clip(c.req.p.get("pos")), errParam)
	}
	c.target = fmt.Sprintf("%s:%s>%d", name, ch, pos)
	if _, err := a.d.Service.QueueShift(c.p, name, ch, pos); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// queueCallerDel is action=q_caller_del: the caller of chan leaves q_name,
// to dst when given, else hung up.
func (a *API) queueCallerDel(c *call) error {
	name, err := c.queueParam()
	if err != nil {
		return err
	}
	ch, err := c.channel()
	if err != nil {
		return err
	}
	dst := c.req.p.get("dst")
	if _, has := c.req.p["dst"]; has && !number(dst) {
		return fmt.Errorf("dst %q: %w", clip(dst), errParam)
	}
	c.target = name + ":" + ch + ">" + dst
	if err := a.d.Service.QueueRemove(c.p, name, ch, dst); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}
