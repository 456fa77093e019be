package pbx

// DeviceState is an extension's state with the numeric values the WebTAPI,
// VIPTel and CloudPBX specs use (they come from Asterisk's extension state
// bit mask), so adapters can pass them through unchanged.
type DeviceState int

const (
	StateNotFound    DeviceState = -1
	StateIdle        DeviceState = 0
	StateInUse       DeviceState = 1
	StateBusy        DeviceState = 2
	StateUnavailable DeviceState = 4
	StateRinging     DeviceState = 8
	StateOnHold      DeviceState = 16
	StateConnecting  DeviceState = 32
)

func (s DeviceState) String() string {
	switch s {
	case StateNotFound:
		return "notfound"
	case StateIdle:
		return "idle"
	case StateInUse:
		return "inuse"
	case StateBusy:
		return "busy"
	case StateUnavailable:
		return "unavailable"
	case StateRinging:
		return "ringing"
	case StateOnHold:
		return "onhold"
	case StateConnecting:
		return "connecting"
	}
	return "unknown"
}

// ChannelState follows Asterisk's channel states that the specs expose.
type ChannelState string

const (
	ChanDown    ChannelState = "down"    // created, nothing sent yet
	ChanDialing ChannelState = "dialing" // outbound INVITE sent
	ChanRing    ChannelState = "ring"    // inbound, the caller hears ringback
	ChanRinging ChannelState = "ringing" // the remote device is alerting
	ChanUp      ChannelState = "up"
	ChanHold    ChannelState = "hold"
	ChanHangup  ChannelState = "hangup"
)

// EndStatus is the VIPTel end status of a call; CDR dispositions derive
// from it so the two never disagree.
type EndStatus string

const (
	EndAnswer      EndStatus = "answer"
	EndBusy        EndStatus = "busy"
	EndNoAnswer    EndStatus = "noanswer"
	EndCancel      EndStatus = "cancel"
	EndCongestion  EndStatus = "congestion"
	EndChanUnavail EndStatus = "chanunavail"
	EndDontCall    EndStatus = "dontcall"
	EndInvalidArgs EndStatus = "invalidargs"
	// EndInterrupted: switchboard stopped (killed, crashed) while the call
	// was live; its CDR was written at the next start from the event log.
	EndInterrupted EndStatus = "interrupted"
)

// Disposition maps an end status to the Asterisk CDR disposition.
func (s EndStatus) Disposition() Disposition {
	switch s {
	case EndAnswer:
		return DispAnswered
	case EndBusy:
		return DispBusy
	case EndNoAnswer, EndCancel, EndInterrupted:
		return DispNoAnswer
	default:
		return DispFailed
	}
}

// EndStatusFromSIP classifies a final SIP response of the called party. It
// lives here, not in the engine, because every engine and dialect must agree
// on it; the numbers are plain integers, not SIP types.
func EndStatusFromSIP(code int) EndStatus {
	switch {
	case code >= 200 && code < 300:
		return EndAnswer
	case code == 486 || code == 600:
		return EndBusy
	case code == 408:
		return EndNoAnswer
	case code == 480 || code == 410:
		return EndChanUnavail
	case code == 487:
		return EndCancel
	case code == 603 || code == 403:
		return EndDontCall
	case code == 400 || code == 484 || code == 485:
		return EndInvalidArgs
	}
	// 404 and every server or network failure: the route did not work.
	return EndCongestion
}
