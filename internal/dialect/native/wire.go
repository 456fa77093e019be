package native

import (
	"encoding/json"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// The native API's wire format. The domain types in internal/pbx carry no
// JSON tags: a change to them must not silently change what clients,
// webhook receivers or the event log see. These structs are that format;
// the golden files in testdata/golden pin them byte for byte.

type wireEvent struct {
	Type       string            `json:"type"`
	Time       time.Time         `json:"time"`
	Extension  *wireExtension    `json:"extension,omitempty"`
	Channel    *wireChannel      `json:"channel,omitempty"`
	Call       *wireCall         `json:"call,omitempty"`
	CDR        *wireCDR          `json:"cdr,omitempty"`
	Cause      string            `json:"cause,omitempty"`
	Digit      string            `json:"digit,omitempty"`
	Via        string            `json:"via,omitempty"`
	Replaces   string            `json:"replaces,omitempty"`
	Recording  *wireRecording    `json:"recording,omitempty"`
	Conference *wireConference   `json:"conference,omitempty"`
	Queue      *wireQueue        `json:"queue,omitempty"`
	Member     *wireQueueMember  `json:"member,omitempty"`
	Caller     *wireQueueCaller  `json:"caller,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	Pickup     bool              `json:"pickup,omitempty"`
	Camera     int               `json:"camera,omitempty"` // the door phone's camera, on events of its calls
	Quality    *wireQuality      `json:"quality,omitempty"`
}

// wireQuality is a call.quality alarm: kind mos, loss (value a fraction),
// jitter (ms) or one_way (seconds without audio from the channel's party).
type wireQuality struct {
	Kind      string  `json:"kind"`
	Raised    bool    `json:"raised"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
}

type wireExtension struct {
	Tenant     string `json:"tenant"`
	Number     string `json:"number"`
	Name       string `json:"name"`
	State      int    `json:"state"`
	StateText  string `json:"state_text"`
	Registered bool   `json:"registered"`
	Contact    string `json:"contact,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
}

type wireChannel struct {
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

type wireCall struct {
	ID         string        `json:"id"`
	Tenant     string        `json:"tenant"`
	From       string        `json:"from"`
	To         string        `json:"to"`
	Channels   []wireChannel `json:"channels"`
	Created    time.Time     `json:"created"`
	Answered   time.Time     `json:"answered,omitzero"`
	Originated bool          `json:"originated"`
	Camera     int           `json:"camera,omitempty"` // the door phone's camera
}

type wireCDR struct {
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
	// QualitySeries is only in a single CDR (GET /cdrs/{id}) and the
	// dossier: up to 720 points per stream would swell every listing.
	QualitySeries *wireQualitySeries `json:"quality_series,omitempty"`
}

// wireQualitySeries is each RTP stream's quality over time: a, the
// caller's audio as switchboard received it; b, the called party's.
type wireQualitySeries struct {
	A []wireQualityPoint `json:"a"`
	B []wireQualityPoint `json:"b"`
}

type wireQualityPoint struct {
	At       time.Time `json:"at"`
	Packets  int64     `json:"packets"`
	Lost     int64     `json:"lost"`
	JitterMs float64   `json:"jitter_ms"`
	MOS      float64   `json:"mos"`
}

// toWireCDRWithSeries is a single CDR as GET /cdrs/{id} and the dossier
// show it: with its quality series.
func toWireCDRWithSeries(x pbx.CDR) wireCDR {
	w := toWireCDR(x)
	w.QualitySeries = toWireSeries(x.Detail)
	return w
}

func toWireSeries(d pbx.CallDetail) *wireQualitySeries {
	conv := func(s []pbx.QualityPoint) []wireQualityPoint {
		out := make([]wireQualityPoint, len(s))
		for i, p := range s {
			out[i] = wireQualityPoint{At: p.At, Packets: p.Packets, Lost: p.Lost, JitterMs: p.JitterMs, MOS: p.MOS}
		}
		return out
	}
	return &wireQualitySeries{A: conv(d.A.Series), B: conv(d.B.Series)}
}

type wireRecording struct {
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

type wireConference struct {
	Name    string                 `json:"name"`
	Number  string                 `json:"number,omitempty"`
	Dynamic bool                   `json:"dynamic"`
	Members []wireConferenceMember `json:"members"`
}

type wireConferenceMember struct {
	Channel wireChannel `json:"channel"`
	Joined  time.Time   `json:"joined"`
}

type wireQueue struct {
	Name     string            `json:"name"`
	Number   string            `json:"number"`
	Strategy string            `json:"strategy"`
	Waiting  int               `json:"waiting"`
	Members  []wireQueueMember `json:"members"`
}

type wireQueueMember struct {
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

type wireQueueCaller struct {
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

type wireQueueStats struct {
	Queue            string  `json:"queue"`
	Offered          int     `json:"offered"`
	Answered         int     `json:"answered"`
	Abandoned        int     `json:"abandoned"`
	TimedOut         int     `json:"timed_out"`
	Other            int     `json:"other"`
	AvgWaitSeconds   float64 `json:"avg_wait"`
	P90WaitSeconds   float64 `json:"p90_wait"`
	ServiceLevelPct  float64 `json:"service_level_pct"`
	AvgTalkSeconds   float64 `json:"avg_talk"`
	AvgAbandonSecond float64 `json:"avg_abandon_wait"`
}

type wireAgentStats struct {
	Queue          string  `json:"queue"`
	Agent          string  `json:"agent"`
	Answered       int     `json:"answered"`
	RingNoAnswer   int     `json:"ring_no_answer"`
	AvgTalkSeconds float64 `json:"avg_talk"`
	TalkSeconds    float64 `json:"talk_total"`
}

func toWireEvent(x pbx.Event) wireEvent {
	return wireEvent{
		Type:       string(x.Type),
		Time:       x.Time,
		Extension:  ptr(x.Extension, toWireExtension),
		Channel:    ptr(x.Channel, toWireChannel),
		Call:       ptr(x.Call, toWireCall),
		CDR:        ptr(x.CDR, toWireCDR),
		Cause:      x.Cause,
		Digit:      x.Digit,
		Via:        x.Via,
		Replaces:   x.Replaces,
		Recording:  ptr(x.Recording, toWireRecording),
		Conference: ptr(x.Conference, toWireConference),
		Queue:      ptr(x.Queue, toWireQueue),
		Member:     ptr(x.Member, toWireQueueMember),
		Caller:     ptr(x.Caller, toWireQueueCaller),
		Data:       x.Data,
		Pickup:     x.Pickup,
		Camera:     x.Camera,
		Quality:    ptr(x.Quality, func(q pbx.QualityAlarm) wireQuality { return wireQuality(q) }),
	}
}

func toWireExtension(x pbx.Extension) wireExtension {
	return wireExtension{
		Tenant:     x.Tenant,
		Number:     x.Number,
		Name:       x.Name,
		State:      int(x.State),
		StateText:  x.StateText,
		Registered: x.Registered,
		Contact:    x.Contact,
		UserAgent:  x.UserAgent,
	}
}

func toWireChannel(x pbx.Channel) wireChannel {
	return wireChannel{
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

func toWireCall(x pbx.Call) wireCall {
	return wireCall{
		ID:         x.ID,
		Tenant:     x.Tenant,
		From:       x.From,
		To:         x.To,
		Channels:   each(x.Channels, toWireChannel),
		Created:    x.Created,
		Answered:   x.Answered,
		Originated: x.Originated,
		Camera:     x.Camera,
	}
}

func toWireCDR(x pbx.CDR) wireCDR {
	return wireCDR{
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

func toWireRecording(x pbx.Recording) wireRecording {
	return wireRecording{
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

func toWireConference(x pbx.Conference) wireConference {
	return wireConference{
		Name:    x.Name,
		Number:  x.Number,
		Dynamic: x.Dynamic,
		Members: each(x.Members, toWireConferenceMember),
	}
}

func toWireConferenceMember(x pbx.ConferenceMember) wireConferenceMember {
	return wireConferenceMember{
		Channel: toWireChannel(x.Channel),
		Joined:  x.Joined,
	}
}

func toWireQueue(x pbx.Queue) wireQueue {
	return wireQueue{
		Name:     x.Name,
		Number:   x.Number,
		Strategy: x.Strategy,
		Waiting:  x.Waiting,
		Members:  each(x.Members, toWireQueueMember),
	}
}

func toWireQueueMember(x pbx.QueueMember) wireQueueMember {
	return wireQueueMember{
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

func toWireQueueCaller(x pbx.QueueCaller) wireQueueCaller {
	return wireQueueCaller{
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

func toWireQueueStats(x pbx.QueueStats) wireQueueStats {
	return wireQueueStats{
		Queue:            x.Queue,
		Offered:          x.Offered,
		Answered:         x.Answered,
		Abandoned:        x.Abandoned,
		TimedOut:         x.TimedOut,
		Other:            x.Other,
		AvgWaitSeconds:   x.AvgWaitSeconds,
		P90WaitSeconds:   x.P90WaitSeconds,
		ServiceLevelPct:  x.ServiceLevelPct,
		AvgTalkSeconds:   x.AvgTalkSeconds,
		AvgAbandonSecond: x.AvgAbandonSecond,
	}
}

func toWireAgentStats(x pbx.AgentStats) wireAgentStats {
	return wireAgentStats{
		Queue:          x.Queue,
		Agent:          x.Agent,
		Answered:       x.Answered,
		RingNoAnswer:   x.RingNoAnswer,
		AvgTalkSeconds: x.AvgTalkSeconds,
		TalkSeconds:    x.TalkSeconds,
	}
}

// wireEnvelope is an event as the stream and webhooks carry it:
// {"seq":N,"tenant":T, ...event fields}.
type wireEnvelope struct {
	Seq    uint64 `json:"seq"`
	Tenant string `json:"tenant"`
	wireEvent
}

// EncodeEvent renders an event in the native wire format; webhooks send
// exactly these bytes.
func EncodeEvent(seq uint64, tenant string, e pbx.Event) []byte {
	b, _ := json.Marshal(wireEnvelope{Seq: seq, Tenant: tenant, wireEvent: toWireEvent(e)})
	return b
}

func ptr[T, W any](p *T, f func(T) W) *W {
	if p == nil {
		return nil
	}
	w := f(*p)
	return &w
}

// each converts a slice; nil stays nil and empty stays empty, as JSON
// tells them apart (null and []).
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
