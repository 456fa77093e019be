// Package dossier puts together everything known about one call: its
// parties (every channel, including the ones a transfer or pickup
// replaced), transfers, queue and conference history, recordings, CDR
// rows and its events in order. The event log is the source: a call's
// events are indexed by call id, so a dossier is one indexed read plus
// the CDR rows, and it works the same for a live call and one that ended
// last week (within the log's retention).
package dossier

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ErrNotFound: no event of that call is known (or none the caller may see).
var ErrNotFound = errors.New("dossier: no such call")

// MaxEvents bounds the events read for one call: a queue call waiting an
// hour with position updates stays far below it.
const MaxEvents = 5000

// Party is one channel of the call.
type Party struct {
	Channel  pbx.Channel // its last known state
	Ended    time.Time
	Cause    string // hangup cause
	Replaced string // unique id of the channel that took its place
	Replaces string // unique id of the channel it replaced
}

// Transfer is one change of party: a transfer or a pickup.
type Transfer struct {
	Time     time.Time
	Replaces string      // the channel that left
	Channel  pbx.Channel // the one that took its place
	Pickup   bool
}

// QueueStep is one queue event of the call.
type QueueStep struct {
	Time   time.Time
	Type   pbx.EventType
	Queue  string
	Caller pbx.QueueCaller
	Cause  string
}

// ConferenceStep is one conference join or leave of a channel of the call.
type ConferenceStep struct {
	Time       time.Time
	Type       pbx.EventType
	Conference string
	Channel    pbx.Channel
}

// Entry is one event of the call.
type Entry struct {
	Seq   uint64
	Event pbx.Event
}

// Dossier is everything known about one call.
type Dossier struct {
	CallID, Tenant string
	Live           bool
	Call           pbx.Call // the live snapshot, else the last one the events carried
	Parties        []Party
	Transfers      []Transfer
	Queue          []QueueStep
	Conferences    []ConferenceStep
	Recordings     []pbx.Recording // each recording's latest state
	CDRs           []pbx.CDR
	Events         []Entry
}

// Sources are where a dossier comes from.
type Sources struct {
	// Events returns the stored events of a call in order.
	Events func(ctx context.Context, tenant, callID string, limit int) ([]pbx.StoredEvent, error)
	// Decode turns a stored event body back into an event.
	Decode func(body []byte) (pbx.Event, error)
	// CDRs returns the CDR rows of a call (with their ids).
	CDRs func(ctx context.Context, tenant, callID string) ([]pbx.CDR, error)
	// Live returns the call if it is up.
	Live func(tenant, callID string) (pbx.Call, error)
}

// Build assembles the dossier of callID. keep filters the events (a
// restricted principal sees only what involves it); nil keeps all. A call
// with no kept event is ErrNotFound.
func Build(ctx context.Context, src Sources, tenant, callID string, keep func(pbx.Event) (pbx.Event, bool)) (Dossier, error) {
	d := Dossier{CallID: callID, Tenant: tenant}
	stored, err := src.Events(ctx, tenant, callID, MaxEvents)
	if err != nil {
		return d, fmt.Errorf("dossier events: %w", err)
	}
	parties := map[string]*Party{}
	var order []string
	party := func(ch pbx.Channel) *Party {
		p := parties[ch.UniqueID]
		if p == nil {
			p = &Party{Channel: ch}
			parties[ch.UniqueID] = p
			order = append(order, ch.UniqueID)
		}
		return p
	}
	recs := map[string]int{}
	for _, se := range stored {
		e, err := src.Decode(se.Body)
		if err != nil {
			return d, fmt.Errorf("dossier event %d: %w", se.Seq, err)
		}
		if keep != nil {
			var ok bool
			if e, ok = keep(e); !ok {
				continue
			}
		}
		d.Events = append(d.Events, Entry{Seq: se.Seq, Event: e})
		if e.Call != nil {
			d.Call = *e.Call
		}
		switch e.Type {
		case pbx.EvChannelNew, pbx.EvChannelState:
			if e.Channel != nil {
				p := party(*e.Channel)
				p.Channel = *e.Channel
			}
		case pbx.EvChannelHangup:
			if e.Channel != nil {
				p := party(*e.Channel)
				p.Channel, p.Ended, p.Cause = *e.Channel, e.Time, e.Cause
			}
		case pbx.EvCallTransferred:
			if e.Channel != nil {
				d.Transfers = append(d.Transfers, Transfer{Time: e.Time, Replaces: e.Replaces, Channel: *e.Channel, Pickup: e.Pickup})
				party(*e.Channel).Replaces = e.Replaces
				if old := parties[e.Replaces]; old != nil {
					old.Replaced = e.Channel.UniqueID
				}
			}
		case pbx.EvQueueJoin, pbx.EvQueueLeave, pbx.EvQueueShift:
			step := QueueStep{Time: e.Time, Type: e.Type, Cause: e.Cause}
			if e.Queue != nil {
				step.Queue = e.Queue.Name
			}
			if e.Caller != nil {
				step.Caller = *e.Caller
			}
			d.Queue = append(d.Queue, step)
		case pbx.EvConfJoin, pbx.EvConfLeave:
			step := ConferenceStep{Time: e.Time, Type: e.Type}
			if e.Conference != nil {
				step.Conference = e.Conference.Name
			}
			if e.Channel != nil {
				step.Channel = *e.Channel
			}
			d.Conferences = append(d.Conferences, step)
		case pbx.EvRecordingStarted, pbx.EvRecordingState, pbx.EvRecordingStopped:
			if e.Recording != nil {
				if i, ok := recs[e.Recording.ID]; ok {
					d.Recordings[i] = *e.Recording
				} else {
					recs[e.Recording.ID] = len(d.Recordings)
					d.Recordings = append(d.Recordings, *e.Recording)
				}
			}
		}
	}
	if src.Live != nil {
		if c, err := src.Live(tenant, callID); err == nil && (keep == nil || len(d.Events) > 0) {
			d.Live, d.Call = true, c
			for _, ch := range c.Channels {
				party(ch).Channel = ch
			}
		}
	}
	if len(d.Events) == 0 && !d.Live {
		return d, ErrNotFound
	}
	for _, id := range order {
		d.Parties = append(d.Parties, *parties[id])
	}
	sort.SliceStable(d.Parties, func(i, j int) bool { return d.Parties[i].Channel.Created.Before(d.Parties[j].Channel.Created) })
	if src.CDRs != nil {
		cdrs, err := src.CDRs(ctx, tenant, callID)
		if err != nil {
			return d, fmt.Errorf("dossier cdrs: %w", err)
		}
		d.CDRs = cdrs
	}
	return d, nil
}
