package webtapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/devices"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// The concise channel format is Asterisk's "core show channels concise",
// which the Metasec server relayed: fourteen fields separated by '!', one
// channel per line, in this order (the spec's q_call_list example prints
// them one per line and drops the priority; README.md):
//
//	0 channel        SIP/1004-0000003a
//	1 context        from-internal (a trunk's channels: from-trunk)
//	2 exten          the number the call was made to (7777)
//	3 priority       1
//	4 state          Down, Ring, Ringing, Dialing, Up
//	5 application    Queue, ConfBridge, ChanSpy, Dial; AppDial on the called legs
//	6 data           the queue, room or dialled channel; (Outgoing Line)
//	7 caller id      1004
//	8 caller id name the name the channel presents, else its number (the spec: callerIDName)
//	9 peer           the extension or trunk the channel belongs to
//	10 amaflags      3 (documentation)
//	11 duration      seconds since the channel was created
//	12 bridged       the channel it talks to, or (None)
//	13 unique id     1358704647.94
const conciseFields = 14

const (
	contextInternal = "from-internal"
	contextTrunk    = "from-trunk"
	noneField       = "(None)"
)

// field makes a value safe for one '!'-separated field on one line.
func field(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '!' || c == '\r' || c == '\n' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '!', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// chanState is the channel state as Asterisk names it; a held channel is
// still Up (Asterisk keeps hold out of the channel state).
func chanState(s pbx.ChannelState) string {
	switch s {
	case pbx.ChanDialing:
		return "Dialing"
	case pbx.ChanRing:
		return "Ring"
	case pbx.ChanRinging:
		return "Ringing"
	case pbx.ChanUp, pbx.ChanHold:
		return "Up"
	}
	return "Down"
}

// bridgedTo is the channel ch talks to: the call's one other answered
// channel while ch is answered; for a queue caller, its agent's channel.
func bridgedTo(c pbx.Call, ch pbx.Channel, agentChannel string) string {
	if agentChannel != "" {
		return agentChannel
	}
	if ch.State != pbx.ChanUp && ch.State != pbx.ChanHold {
		return noneField
	}
	other := ""
	for _, o := range c.Channels {
		if o.UniqueID == ch.UniqueID || (o.State != pbx.ChanUp && o.State != pbx.ChanHold) {
			continue
		}
		if other != "" {
			return noneField // more than two parties: no single bridge
		}
		other = o.Name
	}
	if other == "" {
		return noneField
	}
	return other
}

// conciseLine renders one channel of a call. agentChannel is the queue
// agent's channel for a queue caller ("" otherwise).
func conciseLine(b *strings.Builder, c pbx.Call, ch pbx.Channel, agentChannel string, now time.Time) {
	ctx := contextInternal
	if ch.IsTrunk {
		ctx = contextTrunk
	}
	app, data := "AppDial", "(Outgoing Line)"
	if ch.UniqueID == c.ID {
		app, data = c.App, c.AppData
		if app == "" {
			app, data = "Dial", c.To
		}
	}
	dur := int(now.Sub(ch.Created) / time.Second)
	if dur < 0 || ch.Created.IsZero() {
		dur = 0
	}
	name := ch.CallerIDName
	if name == "" {
		name = ch.CallerIDNum // as the spec's example shows it
	}
	fs := [conciseFields]string{ch.Name, ctx, c.To, "1", chanState(ch.State), app, data, ch.CallerIDNum, name,
		ch.Peer, "3", strconv.Itoa(dur), bridgedTo(c, ch, agentChannel), ch.UniqueID}
	for i, f := range fs {
		if i > 0 {
			b.WriteByte('!')
		}
		b.WriteString(field(f))
	}
	b.WriteByte('\n')
}

// conciseCalls renders every live channel of calls, oldest call first,
// each call's channels in the order they were created.
func conciseCalls(calls []pbx.Call, now time.Time) string {
	var b strings.Builder
	b.Grow(len(calls) * 2 * 112) // two channels of ~110 bytes a call
	for _, c := range calls {
		for _, ch := range c.Channels {
			if ch.State == pbx.ChanHangup {
				continue
			}
			conciseLine(&b, c, ch, "", now)
		}
	}
	return b.String()
}

// webtapiState is an extension's state with the spec's values: -1 not
// found, 0 idle, 1 in use, 2 busy, 4 unavailable, 8 ringing, 16 on hold,
// and their sums (9: in use and ringing). An extension placing a call
// that is not answered yet is in use, as Asterisk reports it (switchboard's
// own "connecting", 32, is not in the spec).
func webtapiState(s pbx.DeviceState) int {
	if s == pbx.StateConnecting {
		return int(pbx.StateInUse)
	}
	return int(s)
}

// statusLine is call_status_get's "extension:status".
func statusLine(b *strings.Builder, number string, state int) {
	b.WriteString(number)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(state))
	b.WriteByte('\n')
}

// relayLine is relay_list's "id!name!status".
func relayLine(b *strings.Builder, r devices.Relay) {
	b.WriteString(strconv.Itoa(r.ID))
	b.WriteByte('!')
	b.WriteString(field(r.Name))
	b.WriteByte('!')
	b.WriteString(onOff(r.On))
	b.WriteByte('\n')
}

func onOff(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

// cameraLine is vmx_cam_list's "id!name".
func cameraLine(b *strings.Builder, c devices.Camera) {
	b.WriteString(strconv.Itoa(c.ID))
	b.WriteByte('!')
	b.WriteString(field(c.Name))
	b.WriteByte('\n')
}

// queueLine is q_list's "name!number!strategy!waiting!members".
func queueLine(b *strings.Builder, q pbx.Queue) {
	b.WriteString(field(q.Name))
	b.WriteByte('!')
	b.WriteString(field(q.Number))
	b.WriteByte('!')
	b.WriteString(field(q.Strategy))
	b.WriteByte('!')
	b.WriteString(strconv.Itoa(q.Waiting))
	b.WriteByte('!')
	b.WriteString(strconv.Itoa(len(q.Members)))
	b.WriteByte('\n')
}

// agentLine is agent_list's "extension!name!status!paused!penalty!calls",
// status the CloudPBX/Asterisk member status (1 free, 2 in use, 5
// unavailable, 6 ringing ...).
func agentLine(b *strings.Builder, m pbx.QueueMember) {
	paused := "0"
	if m.Paused {
		paused = "1"
	}
	for i, f := range []string{m.Number, m.Name, strconv.Itoa(m.Status), paused, strconv.Itoa(m.Penalty), strconv.Itoa(m.CallsTaken)} {
		if i > 0 {
			b.WriteByte('!')
		}
		b.WriteString(field(f))
	}
	b.WriteByte('\n')
}

// waitingLine is q_waiting_list's
// "q_name!position!channel!callerid!calleridname!wait!uniqueid".
func waitingLine(b *strings.Builder, c pbx.QueueCaller) {
	for i, f := range []string{c.Queue, strconv.Itoa(c.Position), c.Channel, c.CallerIDNum, c.CallerIDName, strconv.Itoa(c.WaitSeconds), c.UniqueID} {
		if i > 0 {
			b.WriteByte('!')
		}
		b.WriteString(field(f))
	}
	b.WriteByte('\n')
}
