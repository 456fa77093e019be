package native

import (
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// owns reports whether exten is the principal's own extension. A principal
// without an extension owns nothing: trunk channels have no extension
// either, and "" == "" must not hand them every carrier call.
func owns(p auth.Principal, exten string) bool {
	return p.Extension != "" && exten == p.Extension
}

// callInvolves reports whether the principal's extension is party to c.
func callInvolves(p auth.Principal, c *pbx.Call) bool { return c.Involves(p.Extension) }

// eventFiltered reports whether the principal's events need filtering at
// all: everyone else receives the shared, encoded-once bytes.
func eventFiltered(p auth.Principal) bool {
	return p.Restricted() || !p.Can(auth.ReadCDRs)
}

// visibleEvent applies the principal's rights to one event: without
// cdr.read the CDR body of call.ended is removed; a restricted role (user,
// agent) sees only events of calls its own extension takes part in, plus
// extension and queue-member state (what a phone's BLF keys show anyway).
// It returns the event to send and whether to send it.
func visibleEvent(p auth.Principal, e pbx.Event) (pbx.Event, bool) {
	if e.CDR != nil && !p.Can(auth.ReadCDRs) {
		e.CDR = nil
	}
	if !p.Restricted() {
		return e, true
	}
	switch {
	case e.Call != nil:
		return e, callInvolves(p, e.Call)
	case e.Channel != nil:
		return e, owns(p, e.Channel.Exten)
	case e.Recording != nil:
		return e, owns(p, e.Recording.Src) || owns(p, e.Recording.Dst)
	case e.Conference != nil:
		for _, m := range e.Conference.Members {
			if owns(p, m.Channel.Exten) {
				return e, true
			}
		}
		return e, false
	case e.Caller != nil:
		return e, owns(p, e.Caller.Agent)
	case e.Member != nil, e.Extension != nil:
		return e, true
	}
	return e, false
}

// encodeFor renders an event for one subscriber: the shared bytes,
// encoded once for everyone, unless its rights filter events; nil when
// the event is not for it.
func (a *API) encodeFor(p auth.Principal, filtered bool, env eventbus.Envelope[pbx.Event]) []byte {
	if !filtered {
		return a.wire.get(env)
	}
	e, ok := visibleEvent(p, env.Event)
	if !ok {
		return nil
	}
	return EncodeEvent(env.Seq, env.Tenant, e)
}
