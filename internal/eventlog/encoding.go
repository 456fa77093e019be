package eventlog

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// The event log's own encoding of events, versioned, so that neither a
// change to the domain types nor one to an API's wire format changes what
// is on disk, and logs written by earlier versions stay readable. Version
// 1 is the JSON shape the log has used from the start (rows written
// before the version field existed carry none and read as version 1).

// encodingVersion is written into every logged event.
const encodingVersion = 1

// logRecord is one logged event: the version, then the event's fields.
type logRecord struct {
	V int `json:"v,omitempty"`
	logEvent
}

// Encode renders an event for the log.
func Encode(e pbx.Event) []byte {
	b, _ := json.Marshal(logRecord{V: encodingVersion, logEvent: toLogEvent(e)})
	return b
}

// Decode reads a logged event of any version this build knows.
func Decode(body []byte) (pbx.Event, error) {
	var r logRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return pbx.Event{}, fmt.Errorf("eventlog: decode: %w", err)
	}
	if r.V != 0 && r.V != encodingVersion {
		return pbx.Event{}, fmt.Errorf("eventlog: encoding version %d is newer than this build", r.V)
	}
	return fromEvent(r.logEvent), nil
}

type logEvent struct {
	Type       string            `json:"type"`
	Time       time.Time         `json:"time"`
	Extension  *logExtension     `json:"extension,omitempty"`
	Channel    *logChannel       `json:"channel,omitempty"`
	Call       *logCall          `json:"call,omitempty"`
	CDR        *logCDR           `json:"cdr,omitempty"`
	Cause      string            `json:"cause,omitempty"`
	Digit      string            `json:"digit,omitempty"`
	Via        string            `json:"via,omitempty"`
	Replaces   string            `json:"replaces,omitempty"`
	Recording  *logRecording     `json:"recording,omitempty"`
	Conference *logConference    `json:"conference,omitempty"`
	Queue      *logQueue         `json:"queue,omitempty"`
	Member     *logQueueMember   `json:"member,omitempty"`
	Caller     *logQueueCaller   `json:"caller,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	Pickup     bool              `json:"pickup,omitempty"`
	Quality    *logQuality       `json:"quality,omitempty"`
}

type logQuality struct {
	Kind      string  `json:"kind"`
	Raised    bool    `json:"raised"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
}

type logExtension struct {
	Tenant     string `json:"tenant"`
	Number     string `json:"number"`
	Name       string `json:"name"`
	State      int    `json:"state"`
	StateText  string `json:"state_text"`
	Registered bool   `json:"registered"`
	Contact    string `json:"contact,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	// Added within version 1: absent in older rows.
	ConnectedNum  string `json:"connected_num,omitempty"`
	ConnectedName string `json:"connected_name,omitempty"`
}

type logChannel struct {
	Name         string    `json:"name"`
	UniqueID     string    `json:"uniqueid"`
	Tenant       string    `json:"tenant"`
	CallID       string    `json:"call_id"`
	Peer         string    `json:"peer"`
	Exten        string    `json:"exten,omitempty"`
	IsTrunk      bool      `json:"trunk"`
	Dir          string    `json:"direction"`
	State        string    `json:"state"`
	CallerIDNum  string    `json:"callerid_num"`
	CallerIDName string    `json:"callerid_name,omitempty"`
	Created      time.Time `json:"created"`
	Answered     time.Time `json:"answered,omitzero"`
}

type logCall struct {
	ID         string       `json:"id"`
	Tenant     string       `json:"tenant"`
	From       string       `json:"from"`
	To         string       `json:"to"`
	Channels   []logChannel `json:"channels"`
	Created    time.Time    `json:"created"`
	Answered   time.Time    `json:"answered,omitzero"`
	Originated bool         `json:"originated"`
	// Added within version 1: absent in older rows.
	Direction string `json:"direction,omitempty"`
	App       string `json:"app,omitempty"`
	AppData   string `json:"app_data,omitempty"`
	// The current leg of a transferred call (crash recovery bills it).
	LegStart   time.Time `json:"leg_start,omitzero"`
	LegChannel string    `json:"leg_channel,omitempty"`
}

type logCDR struct {
	ID              int64     `json:"id"`
	Tenant          string    `json:"tenant"`
	CallDate        time.Time `json:"calldate"`
	AnswerDate      time.Time `json:"answerdate,omitzero"`
	EndDate         time.Time `json:"enddate"`
	CLID            string    `json:"clid"`
	Src             string    `json:"src"`
	Dst             string    `json:"dst"`
	Channel         string    `json:"channel"`
	DstChannel      string    `json:"dstchannel"`
	LastApp         string    `json:"lastapp"`
	Duration        int       `json:"duration"`
	BillSec         int       `json:"billsec"`
	Disposition     string    `json:"disposition"`
	UniqueID        string    `json:"uniqueid"`
	EndStatus       string    `json:"endstatus"`
	CallID          string    `json:"callid"`
	Codec           string    `json:"codec"`
	PDDMillis       int       `json:"pdd_ms"`
	LastSIPResponse int       `json:"last_sip_response"`
	HangupBy        string    `json:"hangup_by"`
	SrcUserAgent    string    `json:"src_ua"`
	DstUserAgent    string    `json:"dst_ua"`
	SrcIP           string    `json:"src_ip"`
	DstIP           string    `json:"dst_ip"`
	RTPPacketsAB    uint64    `json:"rtp_packets_ab"`
	RTPPacketsBA    uint64    `json:"rtp_packets_ba"`
	LossAB          float64   `json:"loss_ab"`
	LossBA          float64   `json:"loss_ba"`
	JitterABMillis  float64   `json:"jitter_ab_ms"`
	JitterBAMillis  float64   `json:"jitter_ba_ms"`
	MOS             float64   `json:"mos"`
}

type logRecording struct {
	ID       string    `json:"id"`
	Tenant   string    `json:"tenant"`
	CallID   string    `json:"call_id"`
	Src      string    `json:"src"`
	Dst      string    `json:"dst"`
	File     string    `json:"file"`
	Stereo   bool      `json:"stereo"`
	State    string    `json:"state"`
	By       string    `json:"by"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	Millis   int64     `json:"duration_ms"`
	Size     int64     `json:"size"`
	ErrorMsg string    `json:"error,omitempty"`
}

type logConference struct {
	Name    string                `json:"name"`
	Number  string                `json:"number,omitempty"`
	Dynamic bool                  `json:"dynamic"`
	Members []logConferenceMember `json:"members"`
}

type logConferenceMember struct {
	Channel logChannel `json:"channel"`
	Joined  time.Time  `json:"joined"`
}

type logQueue struct {
	Name     string           `json:"name"`
	Number   string           `json:"number"`
	Strategy string           `json:"strategy"`
	Waiting  int              `json:"waiting"`
	Members  []logQueueMember `json:"members"`
}

type logQueueMember struct {
	Queue      string    `json:"queue"`
	Number     string    `json:"number"`
	Name       string    `json:"name"`
	Dynamic    bool      `json:"dynamic"`
	Penalty    int       `json:"penalty"`
	Paused     bool      `json:"paused"`
	Reason     string    `json:"reason,omitempty"`
	Status     int       `json:"status"`
	CallsTaken int       `json:"calls_taken"`
	LastCall   time.Time `json:"last_call,omitzero"`
	WrapUntil  time.Time `json:"wrap_until,omitzero"`
}

type logQueueCaller struct {
	Queue        string    `json:"queue"`
	Position     int       `json:"position"`
	CallID       string    `json:"call_id"`
	Channel      string    `json:"channel"`
	UniqueID     string    `json:"uniqueid"`
	CallerIDNum  string    `json:"callerid_num"`
	CallerIDName string    `json:"callerid_name,omitempty"`
	Joined       time.Time `json:"joined"`
	WaitSeconds  int       `json:"wait"`
	Agent        string    `json:"agent,omitempty"`
	AgentChannel string    `json:"agent_channel,omitempty"`
}

func toLogEvent(x pbx.Event) logEvent {
	return logEvent{
		Type:       string(x.Type),
		Time:       x.Time,
		Extension:  ptr(x.Extension, toLogExtension),
		Channel:    ptr(x.Channel, toLogChannel),
		Call:       ptr(x.Call, toLogCall),
		CDR:        ptr(x.CDR, toLogCDR),
		Cause:      x.Cause,
		Digit:      x.Digit,
		Via:        x.Via,
		Replaces:   x.Replaces,
		Recording:  ptr(x.Recording, toLogRecording),
		Conference: ptr(x.Conference, toLogConference),
		Queue:      ptr(x.Queue, toLogQueue),
		Member:     ptr(x.Member, toLogQueueMember),
		Caller:     ptr(x.Caller, toLogQueueCaller),
		Data:       x.Data,
		Pickup:     x.Pickup,
		Quality:    ptr(x.Quality, func(q pbx.QualityAlarm) logQuality { return logQuality(q) }),
	}
}

func toLogExtension(x pbx.Extension) logExtension {
	return logExtension{
		Tenant:        x.Tenant,
		Number:        x.Number,
		Name:          x.Name,
		State:         int(x.State),
		StateText:     x.StateText,
		Registered:    x.Registered,
		Contact:       x.Contact,
		UserAgent:     x.UserAgent,
		ConnectedNum:  x.ConnectedNum,
		ConnectedName: x.ConnectedName,
	}
}

func toLogChannel(x pbx.Channel) logChannel {
	return logChannel{
		Name:         x.Name,
		UniqueID:     x.UniqueID,
		Tenant:       x.Tenant,
		CallID:       x.CallID,
		Peer:         x.Peer,
		Exten:        x.Exten,
		IsTrunk:      x.IsTrunk,
		Dir:          string(x.Dir),
		State:        string(x.State),
		CallerIDNum:  x.CallerIDNum,
		CallerIDName: x.CallerIDName,
		Created:      x.Created,
		Answered:     x.Answered,
	}
}

func toLogCall(x pbx.Call) logCall {
	return logCall{
		ID:         x.ID,
		Tenant:     x.Tenant,
		From:       x.From,
		To:         x.To,
		Channels:   each(x.Channels, toLogChannel),
		Created:    x.Created,
		Answered:   x.Answered,
		Originated: x.Originated,
		Direction:  string(x.Direction),
		App:        x.App,
		AppData:    x.AppData,
		LegStart:   x.LegStart,
		LegChannel: x.LegChannel,
	}
}

func toLogCDR(x pbx.CDR) logCDR {
	return logCDR{
		ID:              x.ID,
		Tenant:          x.Tenant,
		CallDate:        x.CallDate,
		AnswerDate:      x.AnswerDate,
		EndDate:         x.EndDate,
		CLID:            x.CLID,
		Src:             x.Src,
		Dst:             x.Dst,
		Channel:         x.Channel,
		DstChannel:      x.DstChannel,
		LastApp:         x.LastApp,
		Duration:        x.Duration,
		BillSec:         x.BillSec,
		Disposition:     string(x.Disposition),
		UniqueID:        x.UniqueID,
		EndStatus:       x.EndStatus,
		CallID:          x.CallID,
		Codec:           x.Codec,
		PDDMillis:       x.PDDMillis,
		LastSIPResponse: x.LastSIPResponse,
		HangupBy:        x.HangupBy,
		SrcUserAgent:    x.SrcUserAgent,
		DstUserAgent:    x.DstUserAgent,
		SrcIP:           x.SrcIP,
		DstIP:           x.DstIP,
		RTPPacketsAB:    x.RTPPacketsAB,
		RTPPacketsBA:    x.RTPPacketsBA,
		LossAB:          x.LossAB,
		LossBA:          x.LossBA,
		JitterABMillis:  x.JitterABMillis,
		JitterBAMillis:  x.JitterBAMillis,
		MOS:             x.MOS,
	}
}

func toLogRecording(x pbx.Recording) logRecording {
	return logRecording{
		ID:       x.ID,
		Tenant:   x.Tenant,
		CallID:   x.CallID,
		Src:      x.Src,
		Dst:      x.Dst,
		File:     x.File,
		Stereo:   x.Stereo,
		State:    string(x.State),
		By:       x.By,
		Started:  x.Started,
		Ended:    x.Ended,
		Millis:   x.Millis,
		Size:     x.Size,
		ErrorMsg: x.ErrorMsg,
	}
}

func toLogConference(x pbx.Conference) logConference {
	return logConference{
		Name:    x.Name,
		Number:  x.Number,
		Dynamic: x.Dynamic,
		Members: each(x.Members, toLogConferenceMember),
	}
}

func toLogConferenceMember(x pbx.ConferenceMember) logConferenceMember {
	return logConferenceMember{
		Channel: toLogChannel(x.Channel),
		Joined:  x.Joined,
	}
}

func toLogQueue(x pbx.Queue) logQueue {
	return logQueue{
		Name:     x.Name,
		Number:   x.Number,
		Strategy: x.Strategy,
		Waiting:  x.Waiting,
		Members:  each(x.Members, toLogQueueMember),
	}
}

func toLogQueueMember(x pbx.QueueMember) logQueueMember {
	return logQueueMember{
		Queue:      x.Queue,
		Number:     x.Number,
		Name:       x.Name,
		Dynamic:    x.Dynamic,
		Penalty:    x.Penalty,
		Paused:     x.Paused,
		Reason:     x.Reason,
		Status:     x.Status,
		CallsTaken: x.CallsTaken,
		LastCall:   x.LastCall,
		WrapUntil:  x.WrapUntil,
	}
}

func toLogQueueCaller(x pbx.QueueCaller) logQueueCaller {
	return logQueueCaller{
		Queue:        x.Queue,
		Position:     x.Position,
		CallID:       x.CallID,
		Channel:      x.Channel,
		UniqueID:     x.UniqueID,
		CallerIDNum:  x.CallerIDNum,
		CallerIDName: x.CallerIDName,
		Joined:       x.Joined,
		WaitSeconds:  x.WaitSeconds,
		Agent:        x.Agent,
		AgentChannel: x.AgentChannel,
	}
}

func fromEvent(x logEvent) pbx.Event {
	return pbx.Event{
		Type:       pbx.EventType(x.Type),
		Time:       x.Time,
		Extension:  ptr(x.Extension, fromExtension),
		Channel:    ptr(x.Channel, fromChannel),
		Call:       ptr(x.Call, fromCall),
		CDR:        ptr(x.CDR, fromCDR),
		Cause:      x.Cause,
		Digit:      x.Digit,
		Via:        x.Via,
		Replaces:   x.Replaces,
		Recording:  ptr(x.Recording, fromRecording),
		Conference: ptr(x.Conference, fromConference),
		Queue:      ptr(x.Queue, fromQueue),
		Member:     ptr(x.Member, fromQueueMember),
		Caller:     ptr(x.Caller, fromQueueCaller),
		Data:       x.Data,
		Pickup:     x.Pickup,
		Quality:    ptr(x.Quality, func(q logQuality) pbx.QualityAlarm { return pbx.QualityAlarm(q) }),
	}
}

func fromExtension(x logExtension) pbx.Extension {
	return pbx.Extension{
		Tenant:        x.Tenant,
		Number:        x.Number,
		Name:          x.Name,
		State:         pbx.DeviceState(x.State),
		StateText:     x.StateText,
		Registered:    x.Registered,
		Contact:       x.Contact,
		UserAgent:     x.UserAgent,
		ConnectedNum:  x.ConnectedNum,
		ConnectedName: x.ConnectedName,
	}
}

func fromChannel(x logChannel) pbx.Channel {
	return pbx.Channel{
		Name:         x.Name,
		UniqueID:     x.UniqueID,
		Tenant:       x.Tenant,
		CallID:       x.CallID,
		Peer:         x.Peer,
		Exten:        x.Exten,
		IsTrunk:      x.IsTrunk,
		Dir:          pbx.Direction(x.Dir),
		State:        pbx.ChannelState(x.State),
		CallerIDNum:  x.CallerIDNum,
		CallerIDName: x.CallerIDName,
		Created:      x.Created,
		Answered:     x.Answered,
	}
}

func fromCall(x logCall) pbx.Call {
	return pbx.Call{
		ID:         x.ID,
		Tenant:     x.Tenant,
		From:       x.From,
		To:         x.To,
		Channels:   each(x.Channels, fromChannel),
		Created:    x.Created,
		Answered:   x.Answered,
		Originated: x.Originated,
		Direction:  pbx.CallDirection(x.Direction),
		App:        x.App,
		AppData:    x.AppData,
		LegStart:   x.LegStart,
		LegChannel: x.LegChannel,
	}
}

func fromCDR(x logCDR) pbx.CDR {
	return pbx.CDR{
		ID:              x.ID,
		Tenant:          x.Tenant,
		CallDate:        x.CallDate,
		AnswerDate:      x.AnswerDate,
		EndDate:         x.EndDate,
		CLID:            x.CLID,
		Src:             x.Src,
		Dst:             x.Dst,
		Channel:         x.Channel,
		DstChannel:      x.DstChannel,
		LastApp:         x.LastApp,
		Duration:        x.Duration,
		BillSec:         x.BillSec,
		Disposition:     pbx.Disposition(x.Disposition),
		UniqueID:        x.UniqueID,
		EndStatus:       x.EndStatus,
		CallID:          x.CallID,
		Codec:           x.Codec,
		PDDMillis:       x.PDDMillis,
		LastSIPResponse: x.LastSIPResponse,
		HangupBy:        x.HangupBy,
		SrcUserAgent:    x.SrcUserAgent,
		DstUserAgent:    x.DstUserAgent,
		SrcIP:           x.SrcIP,
		DstIP:           x.DstIP,
		RTPPacketsAB:    x.RTPPacketsAB,
		RTPPacketsBA:    x.RTPPacketsBA,
		LossAB:          x.LossAB,
		LossBA:          x.LossBA,
		JitterABMillis:  x.JitterABMillis,
		JitterBAMillis:  x.JitterBAMillis,
		MOS:             x.MOS,
	}
}

func fromRecording(x logRecording) pbx.Recording {
	return pbx.Recording{
		ID:       x.ID,
		Tenant:   x.Tenant,
		CallID:   x.CallID,
		Src:      x.Src,
		Dst:      x.Dst,
		File:     x.File,
		Stereo:   x.Stereo,
		State:    pbx.RecordingState(x.State),
		By:       x.By,
		Started:  x.Started,
		Ended:    x.Ended,
		Millis:   x.Millis,
		Size:     x.Size,
		ErrorMsg: x.ErrorMsg,
	}
}

func fromConference(x logConference) pbx.Conference {
	return pbx.Conference{
		Name:    x.Name,
		Number:  x.Number,
		Dynamic: x.Dynamic,
		Members: each(x.Members, fromConferenceMember),
	}
}

func fromConferenceMember(x logConferenceMember) pbx.ConferenceMember {
	return pbx.ConferenceMember{
		Channel: fromChannel(x.Channel),
		Joined:  x.Joined,
	}
}

func fromQueue(x logQueue) pbx.Queue {
	return pbx.Queue{
		Name:     x.Name,
		Number:   x.Number,
		Strategy: x.Strategy,
		Waiting:  x.Waiting,
		Members:  each(x.Members, fromQueueMember),
	}
}

func fromQueueMember(x logQueueMember) pbx.QueueMember {
	return pbx.QueueMember{
		Queue:      x.Queue,
		Number:     x.Number,
		Name:       x.Name,
		Dynamic:    x.Dynamic,
		Penalty:    x.Penalty,
		Paused:     x.Paused,
		Reason:     x.Reason,
		Status:     x.Status,
		CallsTaken: x.CallsTaken,
		LastCall:   x.LastCall,
		WrapUntil:  x.WrapUntil,
	}
}

func fromQueueCaller(x logQueueCaller) pbx.QueueCaller {
	return pbx.QueueCaller{
		Queue:        x.Queue,
		Position:     x.Position,
		CallID:       x.CallID,
		Channel:      x.Channel,
		UniqueID:     x.UniqueID,
		CallerIDNum:  x.CallerIDNum,
		CallerIDName: x.CallerIDName,
		Joined:       x.Joined,
		WaitSeconds:  x.WaitSeconds,
		Agent:        x.Agent,
		AgentChannel: x.AgentChannel,
	}
}

func ptr[T, W any](p *T, f func(T) W) *W {
	if p == nil {
		return nil
	}
	w := f(*p)
	return &w
}

func each[T, W any](xs []T, f func(T) W) []W {
	if xs == nil {
		return nil
	}
	out := make([]W, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
