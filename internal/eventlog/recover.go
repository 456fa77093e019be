package eventlog

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// CallEventSource is what recovery needs of the database.
type CallEventSource interface {
	CallEventsSince(ctx context.Context, since time.Time) ([]pbx.StoredEvent, error)
}

// Unfinished is a call the log saw start and never saw end: the process
// died while it was live.
type Unfinished struct {
	Call pbx.Call
	// Last is the time of the call's last logged event: the latest moment
	// it is known to have been up.
	Last time.Time
}

// UnfinishedCalls reads the call lifecycle events logged since since and
// returns the calls that started and never ended, each rebuilt from its
// latest snapshot plus the channels added later. Events that cannot be
// decoded are skipped: a call missing its start cannot be billed anyway.
func UnfinishedCalls(ctx context.Context, src CallEventSource, since time.Time) ([]Unfinished, error) {
	es, err := src.CallEventsSince(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("unfinished calls: %w", err)
	}
	type key struct{ tenant, id string }
	open := map[key]*Unfinished{}
	var order []key
	for _, se := range es {
		e, err := Decode(se.Body)
		if err != nil {
			continue
		}
		var id string
		switch {
		case e.Call != nil:
			id = e.Call.ID
		case e.Channel != nil:
			id = e.Channel.CallID
		}
		if id == "" {
			continue
		}
		k := key{se.Tenant, id}
		u := open[k]
		switch {
		case e.Type == pbx.EvCallEnded:
			delete(open, k)
			continue
		case u == nil && e.Type == pbx.EvCallNew:
			u = &Unfinished{Call: *e.Call}
			open[k] = u
			order = append(order, k)
		case u == nil:
			continue // its start is older than the window, or it already ended
		case e.Call != nil:
			// A later snapshot (answered, transferred) knows more; keep
			// channels that only channel events told us about.
			known := e.Call.Channels
			for _, ch := range u.Call.Channels {
				if !hasChannel(known, ch.UniqueID) {
					known = append(known, ch)
				}
			}
			u.Call = *e.Call
			u.Call.Channels = known
		case e.Type == pbx.EvChannelNew && !hasChannel(u.Call.Channels, e.Channel.UniqueID):
			u.Call.Channels = append(u.Call.Channels, *e.Channel)
		case e.Type == pbx.EvChannelState:
			// A transfer target's answer shows only here: the leg's
			// recovered CDR bills from it.
			for i := range u.Call.Channels {
				if ch := &u.Call.Channels[i]; ch.UniqueID == e.Channel.UniqueID {
					ch.State, ch.Answered = e.Channel.State, e.Channel.Answered
				}
			}
		}
		u.Last = se.Time
	}
	var out []Unfinished
	for _, k := range order {
		if u := open[k]; u != nil {
			out = append(out, *u)
		}
	}
	return out, nil
}

func hasChannel(chs []pbx.Channel, id string) bool {
	for _, c := range chs {
		if c.UniqueID == id {
			return true
		}
	}
	return false
}
