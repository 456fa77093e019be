package pbx

// HangupBy values of a CDR besides "caller" and "callee" (the party that
// sent BYE or CANCEL), "system" (shutdown, failures), "api" and
// "priority".
const (
	// HangupTransfer ends a leg of a transferred call: its row closes at
	// the transfer and the call goes on in a new row with the same
	// uniqueid.
	HangupTransfer = "transfer"
	// HangupRTPTimeout: no RTP arrived from a party for the configured
	// inactivity timeout while the call was bridged and not on hold.
	HangupRTPTimeout = "rtp_timeout"
	// HangupSessionTimeout: a SIP session timer (RFC 4028) expired
	// without a refresh, or a refresh we sent failed.
	HangupSessionTimeout = "session_timeout"
)
