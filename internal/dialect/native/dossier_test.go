package native

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/dossier"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestDossierWire pins the dossier's wire format (-update rewrites).
func TestDossierWire(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a := pbx.Channel{Name: "SIP/1001-00000001", UniqueID: "1.1", Tenant: "t", CallID: "1.1", Peer: "1001", Exten: "1001",
		Dir: pbx.Outbound, State: pbx.ChanUp, CallerIDNum: "1002", Created: at, Answered: at.Add(time.Second)}
	b := pbx.Channel{Name: "SIP/1002-00000002", UniqueID: "1.2", Tenant: "t", CallID: "1.1", Peer: "1002", Exten: "1002",
		Dir: pbx.Outbound, State: pbx.ChanUp, CallerIDNum: "1001", Created: at.Add(time.Second), Answered: at.Add(2 * time.Second)}
	c := b
	c.Name, c.UniqueID, c.Exten, c.Peer, c.Created = "SIP/1003-00000003", "1.3", "1003", "1003", at.Add(5*time.Second)
	call := pbx.Call{ID: "1.1", Tenant: "t", From: "1001", To: "1003", Channels: []pbx.Channel{a, c}, Created: at, Originated: true}
	rec := pbx.Recording{ID: "r1", Tenant: "t", CallID: "1.1", Src: "1001", Dst: "1002", File: "1.1.wav", State: pbx.RecDone,
		By: "api", Started: at.Add(3 * time.Second), Ended: at.Add(9 * time.Second), Millis: 6000, Size: 96044}
	cdr := pbx.CDR{ID: 7, Tenant: "t", CallDate: at, AnswerDate: at.Add(2 * time.Second), EndDate: at.Add(9 * time.Second),
		Src: "1001", Dst: "1003", Channel: a.Name, DstChannel: c.Name, LastApp: "Originate", Duration: 9, BillSec: 7,
		Disposition: pbx.DispAnswered, UniqueID: "1.1", Codec: "PCMA", MOS: 4.4}
	d := dossier.Dossier{CallID: "1.1", Tenant: "t", Call: call,
		Parties:    []dossier.Party{{Channel: a}, {Channel: b, Ended: at.Add(5 * time.Second), Cause: "transfer", Replaced: "1.3"}, {Channel: c, Replaces: "1.2"}},
		Transfers:  []dossier.Transfer{{Time: at.Add(5 * time.Second), Replaces: "1.2", Channel: c}},
		Recordings: []pbx.Recording{rec},
		CDRs:       []pbx.CDR{cdr},
		Events: []dossier.Entry{{Seq: 10, Event: pbx.Event{Type: pbx.EvCallNew, Time: at, Call: &call}},
			{Seq: 14, Event: pbx.Event{Type: pbx.EvCallTransferred, Time: at.Add(5 * time.Second), Call: &call, Channel: &c, Replaces: "1.2"}}},
	}
	got, err := json.MarshalIndent(toWireDossier(d), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dossier.json", append(got, '\n'))
}
