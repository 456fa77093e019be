package dialect

import (
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
)

// EventsFiltered reports whether a principal's events need filtering at
// all; everyone else may be sent the shared, encoded-once bytes.
func EventsFiltered(p auth.Principal) bool {
	return p.Restricted() || !p.Can(auth.ReadCDRs) || !p.Can(auth.ReadSMS)
}

// VisibleEvent applies the principal's rights to one event: without
// cdr.read the CDR body of call.ended is removed; a restricted role (user,
// agent) sees only events of calls its own extension takes part in, plus
// extension and queue-member state (what a phone's BLF keys show anyway).
// It returns the event to send and whether to send it.
func VisibleEvent(p auth.Principal, e pbx.Event) (pbx.Event, bool) {
	if e.CDR != nil && !p.Can(auth.ReadCDRs) {
		e.CDR = nil
	}
	if e.Type == sms.EvStatus { // a message's states go to whoever may read it
		owner, err := smsScope(p)
		return e, err == nil && (owner == "" || e.Data["owner"] == owner)
	}
	if !p.Restricted() {
		return e, true
	}
	switch {
	case e.Call != nil:
		// call.new carries only the caller's channel: the extension it is
		// about to ring sees it too (seeing is all: control still needs a
		// channel of its own in the call).
		return e, e.Call.Involves(p.Extension) || (e.Type == pbx.EvCallNew && p.Extension != "" && e.Call.To == p.Extension)
	case e.Channel != nil:
		return e, Owns(p, e.Channel.Exten)
	case e.Recording != nil:
		return e, Owns(p, e.Recording.Src) || Owns(p, e.Recording.Dst)
	case e.Conference != nil:
		for _, m := range e.Conference.Members {
			if Owns(p, m.Channel.Exten) {
				return e, true
			}
		}
		return e, false
	case e.Caller != nil:
		return e, Owns(p, e.Caller.Agent)
	case e.Member != nil, e.Extension != nil:
		return e, true
	}
	return e, false
}
