package cloudpbx

import (
	"bytes"
	"encoding/json"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// cdrRecord is one element of GET /cdr: exactly the spec's 13 fields, with
// its types (duration and billsec numbers, cost and zone strings).
type cdrRecord struct {
	CallDate    string `json:"calldate"`
	CLID        string `json:"clid"`
	Src         string `json:"src"`
	Dst         string `json:"dst"`
	Channel     string `json:"channel"`
	DstChannel  string `json:"dstchannel"`
	LastApp     string `json:"lastapp"`
	Duration    int    `json:"duration"`
	BillSec     int    `json:"billsec"`
	Disposition string `json:"disposition"`
	UniqueID    string `json:"uniqueid"`
	Cost        string `json:"cost"` // grosze; "" where no rate applies
	Zone        string `json:"zone"`
}

func toCDR(c pbx.CDR, loc *time.Location) cdrRecord {
	// cost and zone stay "" (the spec's example) unless a trunk's rate
	// table priced the call; an unanswered rated call costs "0".
	var cost string
	if c.Rated {
		cost = strconv.FormatInt(c.Cost, 10)
	}
	return cdrRecord{Cost: cost, Zone: c.Zone, CallDate: c.CallDate.In(loc).Format(dateTimeLayout), CLID: c.CLID, Src: c.Src, Dst: c.Dst,
		Channel: c.Channel, DstChannel: c.DstChannel, LastApp: c.LastApp, Duration: c.Duration, BillSec: c.BillSec,
		Disposition: string(c.Disposition), UniqueID: c.UniqueID}
}

// recordEntry is one element of GET /record.
type recordEntry struct {
	UniqueID string `json:"uniqueid"`
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Format   string `json:"format"`
	Date     string `json:"date"`
}

func toRecord(r pbx.Recording, loc *time.Location) recordEntry {
	return recordEntry{UniqueID: r.CallID, Src: r.Src, Dst: r.Dst, Format: recordingFormat(r.File),
		Date: r.Started.In(loc).Format(dateTimeLayout)}
}

// recordingFormat is the file's extension ("wav"), which is what the spec's
// format field holds.
func recordingFormat(file string) string {
	return strings.ToLower(strings.TrimPrefix(path.Ext(file), "."))
}

// contentType of a recording by its format.
func contentType(format string) string {
	switch format {
	case "wav":
		return "audio/wav"
	case "mp3":
		return "audio/mpeg"
	case "ogg", "opus":
		return "audio/ogg"
	}
	return "application/octet-stream"
}

// smsResponse is /sendSMS's RESPONSE object; responseErrorMessage is null
// on success, as the spec's example shows.
type smsResponse struct {
	ResponseID           *string `json:"responseId"`
	ResponseStatus       string  `json:"responseStatus"`
	ResponseErrorMessage *string `json:"responseErrorMessage"`
}

// message is one WebSocket message: {"id":N,"channel":"pbx_NAME","text":{...}}.
// text is a JSON object whose keys are event names; the events one core
// event produces travel together (subscriber and extstatus of one phone).
type message struct {
	ID      uint64          `json:"id"`
	Channel string          `json:"channel"`
	Text    json.RawMessage `json:"text"`
}

// subscriber: a phone's account state (section 2.3.1).
type subscriber struct {
	Peer              string `json:"peer"`
	StatusValue       int    `json:"statusValue"`
	ConnectPeerNumber string `json:"connectPeerNumber,omitempty"`
	ConnectPeerName   string `json:"connectPeerName,omitempty"`
}

// extstatus: the phone's state (2.3.2). The spec's example names the
// value "status" and its parameter list "statusValue"; both are sent so
// clients written against either read it.
type extstatus struct {
	Exten       string `json:"exten"`
	Status      int    `json:"status"`
	StatusValue int    `json:"statusValue"`
}

// queueEvent: waiting calls in a queue (2.3.3); calls is a string as in the
// spec's example.
type queueEvent struct {
	Peer  string `json:"peer"`
	Calls string `json:"calls"`
}

// qmember: an agent's state in a queue (2.3.4); the numbers are strings as
// in the spec's example.
type qmember struct {
	Peer     string `json:"peer"`
	Queue    string `json:"queue"`
	Status   string `json:"m_status"`
	Calls    string `json:"m_ct"`
	Mbshp    string `json:"m_mbshp"`
	Paused   string `json:"m_paused"`
	Reason   string `json:"m_reason"`
	Name     string `json:"m_name"`
	Location string `json:"m_location"`
}

// cmember: a conference participant joined or left (2.3.5).
type cmember struct {
	Channel      string `json:"channel"`
	Action       string `json:"action"`
	Conference   string `json:"conference"`
	CallerIDName string `json:"callerIDName"`
	CallerIDNum  string `json:"callerIDNum"`
}

// smsSendResponse: an SMS changed state (the second 2.3.5). The example's
// key spelling MsgId is used (the prose says MsgID).
type smsSendResponse struct {
	MsgID  string `json:"MsgId"`
	To     string `json:"to"`
	Status string `json:"status"`
}

// EvSMSStatus is the event type this dialect reads as smsSendResponse: a
// non-call event published with Data {"id", "to", "status"}.
const EvSMSStatus pbx.EventType = "sms.status"

// peerName is the spec's account name: the PBX name and the number.
func peerName(tenant, number string) string { return tenant + "-" + number }

// statusValue maps a device state to section 2.4; the core's values are
// the spec's already, except "not found", which a client sees as
// unavailable.
func statusValue(s pbx.DeviceState) int {
	if s < 0 {
		return int(pbx.StateUnavailable)
	}
	return int(s)
}

// names resolves an extension's display name (for cmember); nil: none.
type names func(number string) string

// translate turns one core event into the text object of one message, or
// nil when the spec has no event for it. Calls are reported through the
// extension states they cause (subscriber with connectPeerNumber), as
// CloudPBX does; CDRs through GET /cdr.
func translate(tenant string, e pbx.Event, nameOf names) json.RawMessage {
	text := map[string]any{}
	switch {
	case e.Type == pbx.EvExtensionState && e.Extension != nil:
		x := e.Extension
		sv := statusValue(x.State)
		text["subscriber"] = subscriber{Peer: peerName(tenant, x.Number), StatusValue: sv,
			ConnectPeerNumber: x.ConnectedNum, ConnectPeerName: x.ConnectedName}
		text["extstatus"] = extstatus{Exten: x.Number, Status: sv, StatusValue: sv}
	case e.Member != nil && e.Queue != nil:
		m := e.Member
		mbshp := "static"
		if m.Dynamic {
			mbshp = "dynamic"
		}
		paused := "0"
		if m.Paused {
			paused = "1"
		}
		text["qmember"] = qmember{Peer: peerName(tenant, m.Number), Queue: e.Queue.Name, Status: strconv.Itoa(m.Status),
			Calls: strconv.Itoa(m.CallsTaken), Mbshp: mbshp, Paused: paused, Reason: m.Reason, Name: m.Name,
			Location: "SIP/" + peerName(tenant, m.Number)}
	case (e.Type == pbx.EvQueueJoin || e.Type == pbx.EvQueueLeave) && e.Queue != nil:
		text["queue"] = queueEvent{Peer: e.Queue.Name, Calls: strconv.Itoa(e.Queue.Waiting)}
	case (e.Type == pbx.EvConfJoin || e.Type == pbx.EvConfLeave) && e.Conference != nil && e.Channel != nil:
		action := "add"
		if e.Type == pbx.EvConfLeave {
			action = "remove"
		}
		num, name := memberCallerID(*e.Channel, nameOf)
		text["cmember"] = cmember{Channel: e.Channel.Name, Action: action, Conference: e.Conference.Name,
			CallerIDName: name, CallerIDNum: num}
	case e.Type == EvSMSStatus && e.Data != nil:
		text["smsSendResponse"] = smsSendResponse{MsgID: e.Data["id"], To: e.Data["to"], Status: e.Data["status"]}
	default:
		return nil
	}
	b, err := marshal(text)
	if err != nil {
		return nil
	}
	return b
}

// memberCallerID is the conference member's own caller id, not the
// room's: a phone of the PBX is its extension number and directory name;
// someone who dialled in from outside is the caller id it presented (an
// inbound channel's CallerID is the caller); someone the room called out
// to is the number it dialled (the channel's peer).
func memberCallerID(ch pbx.Channel, nameOf names) (num, name string) {
	switch {
	case ch.Exten != "":
		num = ch.Exten
		if nameOf != nil {
			name = nameOf(num)
		}
		if name == "" && ch.Dir == pbx.Inbound {
			name = ch.CallerIDName
		}
	case ch.Dir == pbx.Inbound:
		num, name = ch.CallerIDNum, ch.CallerIDName
	default:
		num = ch.Peer
	}
	return num, name
}

// marshal encodes JSON as the spec prints it: without Go's HTML escaping
// (a clid reads `"Name" <101>`, not \u003c101\u003e) and without the
// encoder's trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
