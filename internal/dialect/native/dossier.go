package native

import (
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dossier"
)

// The dossier's wire format. Links point at the API's own routes, so a
// client follows them with the same credentials (and the same rights).
type wireDossier struct {
	CallID      string               `json:"call_id"`
	Tenant      string               `json:"tenant"`
	Live        bool                 `json:"live"`
	Call        wireCall             `json:"call"`
	Parties     []wireParty          `json:"parties"`
	Transfers   []wireTransfer       `json:"transfers"`
	Queue       []wireQueueStep      `json:"queue"`
	Conferences []wireConferenceStep `json:"conferences"`
	Recordings  []wireDossierRec     `json:"recordings"`
	CDRs        []wireDossierCDR     `json:"cdrs"`
	Events      []wireEnvelope       `json:"events"`
}

type wireParty struct {
	wireChannel
	Ended    time.Time `json:"ended,omitzero"`
	Cause    string    `json:"hangup_cause,omitempty"`
	Replaced string    `json:"replaced_by,omitempty"`
	Replaces string    `json:"replaces,omitempty"`
}

type wireTransfer struct {
	Time     time.Time   `json:"time"`
	Replaces string      `json:"replaces"`
	Channel  wireChannel `json:"channel"`
	Pickup   bool        `json:"pickup"`
}

type wireQueueStep struct {
	Time   time.Time       `json:"time"`
	Type   string          `json:"type"`
	Queue  string          `json:"queue"`
	Caller wireQueueCaller `json:"caller"`
	Cause  string          `json:"cause,omitempty"`
}

type wireConferenceStep struct {
	Time       time.Time   `json:"time"`
	Type       string      `json:"type"`
	Conference string      `json:"conference"`
	Channel    wireChannel `json:"channel"`
}

type wireDossierRec struct {
	wireRecording
	Audio string `json:"audio_url"`
}

type wireDossierCDR struct {
	wireCDR
	PCAP string `json:"pcap_url"`
	SIP  string `json:"sip_url"`
}

func toWireDossier(d dossier.Dossier) wireDossier {
	w := wireDossier{CallID: d.CallID, Tenant: d.Tenant, Live: d.Live, Call: toWireCall(d.Call),
		Parties: []wireParty{}, Transfers: []wireTransfer{}, Queue: []wireQueueStep{}, Conferences: []wireConferenceStep{},
		Recordings: []wireDossierRec{}, CDRs: []wireDossierCDR{}, Events: []wireEnvelope{}}
	for _, p := range d.Parties {
		w.Parties = append(w.Parties, wireParty{wireChannel: toWireChannel(p.Channel), Ended: p.Ended, Cause: p.Cause,
			Replaced: p.Replaced, Replaces: p.Replaces})
	}
	for _, t := range d.Transfers {
		w.Transfers = append(w.Transfers, wireTransfer{Time: t.Time, Replaces: t.Replaces, Channel: toWireChannel(t.Channel), Pickup: t.Pickup})
	}
	for _, q := range d.Queue {
		w.Queue = append(w.Queue, wireQueueStep{Time: q.Time, Type: string(q.Type), Queue: q.Queue, Caller: toWireQueueCaller(q.Caller), Cause: q.Cause})
	}
	for _, c := range d.Conferences {
		w.Conferences = append(w.Conferences, wireConferenceStep{Time: c.Time, Type: string(c.Type), Conference: c.Conference, Channel: toWireChannel(c.Channel)})
	}
	for _, r := range d.Recordings {
		w.Recordings = append(w.Recordings, wireDossierRec{wireRecording: toWireRecording(r), Audio: "/api/v1/recordings/" + r.ID + "/audio"})
	}
	for _, c := range d.CDRs {
		w.CDRs = append(w.CDRs, wireDossierCDR{wireCDR: toWireCDRWithSeries(c), PCAP: fmt.Sprintf("/api/v1/cdrs/%d/pcap", c.ID),
			SIP: fmt.Sprintf("/api/v1/cdrs/%d/sip", c.ID)})
	}
	for _, e := range d.Events {
		w.Events = append(w.Events, wireEnvelope{Seq: e.Seq, Tenant: d.Tenant, wireEvent: toWireEvent(e.Event)})
	}
	return w
}

// callDossier serves GET /api/v1/calls/{id}/dossier.
func (a *API) callDossier(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	d, err := a.svc.CallDossier(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireDossier(d))
}
