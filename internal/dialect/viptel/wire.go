package viptel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// The spec's response messages, verbatim (spelling included: clients
// compare them as strings).
const (
	msgHello        = "Send your username and password hash in action user.login and use this nonce to generate password hash"
	msgBye          = "Bye"
	msgClosing      = "Closing connection, bye"
	msgLoggedIn     = "Login successfull"
	msgActionType   = "Action has to be string"
	msgInvalid      = "Inserted values are not valid"
	msgNotActivated = "User is not activated"
	msgWrongLogin   = "Wrong username and/or password"
	msgLoginFirst   = "You have to login with action: user.login, username and password"
	msgForbidden    = "You are not allowed to use this action"
	msgMissing      = "Missing action"
	msgNoCall       = "Call not found"
	msgUnknown      = "Unknown action"
	msgLoginTimeout = "Login timeout"
	msgUnexpected   = "An unexpected error has occurred, closing connection"
	msgFailed       = "Action failed"
	msgNoPBX        = "Unable to connect to PBX"
	msgRestarting   = "Server is restarting, please reconnect"
	msgPBXRetry     = "Can not connect to PBX, try your action again later"
)

// response is a {"code", "message"} answer. Nonce is only on the 100
// greeting; Errors only on 400 "Inserted values are not valid".
type response struct {
	Code    int          `json:"code"`
	Message string       `json:"message"`
	Nonce   string       `json:"nonce,omitempty"`
	Errors  []fieldError `json:"errors,omitempty"`
}

// fieldError names one bad field of a request; the spec only says the
// errors are "in the field named errors", this shape is ours (README).
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func resp(code int, msg string) response { return response{Code: code, Message: msg} }

func invalid(errs ...fieldError) response {
	return response{Code: 400, Message: msgInvalid, Errors: errs}
}

// request is one parsed client message: the action and its fields, each
// kept raw until the action says what type it wants.
type request struct {
	Action string
	fields map[string]json.RawMessage
}

// parseRequest reads one client message. A message that is not a JSON
// object, or whose action is missing, empty or not a string, is answered
// with the spec's response and no request.
func parseRequest(b []byte) (request, *response) {
	var fields map[string]json.RawMessage
	if !utf8.Valid(b) || json.Unmarshal(b, &fields) != nil || fields == nil {
		r := invalid(fieldError{Field: "message", Message: "must be a JSON object"})
		return request{}, &r
	}
	raw, ok := fields["action"]
	if !ok || bytes.Equal(raw, []byte("null")) {
		r := resp(404, msgMissing)
		return request{}, &r
	}
	var action string
	if json.Unmarshal(raw, &action) != nil {
		r := resp(400, msgActionType)
		return request{}, &r
	}
	if action == "" {
		r := resp(404, msgMissing)
		return request{}, &r
	}
	return request{Action: action, fields: fields}, nil
}

// str reads a required or optional field as a string. numbers says a JSON
// integer is accepted too (the spec types from, to and destination
// "Integer String", and its own example sends from as a string).
func (r request) str(name string, required, numbers bool, errs *[]fieldError) string {
	raw, ok := r.fields[name]
	if !ok || bytes.Equal(raw, []byte("null")) {
		if required {
			*errs = append(*errs, fieldError{name, "is required"})
		}
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" && required {
			*errs = append(*errs, fieldError{name, "is required"})
		}
		return s
	}
	if numbers {
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			if _, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
				return n.String()
			}
		}
		*errs = append(*errs, fieldError{name, "must be a string or a non-negative integer"})
		return ""
	}
	*errs = append(*errs, fieldError{name, "must be a string"})
	return ""
}

// maxRandomID is the spec's bound on call_random_id.
const maxRandomID = 64

// validRandomID: at most 64 alphanumerics (ASCII letters and digits).
func validRandomID(s string) bool {
	if s == "" || len(s) > maxRandomID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// errorResponse maps an error from the service, the core or the gate to
// the spec's response, in one place (one table test pins it). close says
// the connection ends after it (with 110).
func errorResponse(err error) (r response, close bool) {
	switch {
	case errors.Is(err, auth.ErrAccountDisabled):
		return resp(401, msgNotActivated), true
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrInvalidLogin),
		errors.Is(err, auth.ErrAddressNotAllowed), errors.Is(err, auth.ErrLockedOut):
		// Never say which: a lockout or an address off the list is, to
		// the client, a login that did not work (the log says which).
		return resp(401, msgWrongLogin), true
	case errors.Is(err, auth.ErrOverloaded), errors.Is(err, auth.ErrUnavailable):
		return resp(504, msgPBXRetry), true
	case errors.Is(err, dialect.ErrForbidden):
		return resp(403, msgForbidden), false
	case errors.Is(err, pbx.ErrNotFound):
		return resp(404, msgNoCall), false
	case errors.Is(err, pbx.ErrShuttingDown):
		return resp(503, msgRestarting), true
	case errors.Is(err, pbx.ErrInvalidArgument), errors.Is(err, pbx.ErrUnknownExten),
		errors.Is(err, pbx.ErrUnavailable), errors.Is(err, pbx.ErrBusy),
		errors.Is(err, pbx.ErrLimit), errors.Is(err, pbx.ErrNotSupported):
		return resp(500, msgFailed), false
	}
	return resp(500, msgFailed), false
}

// Event messages. Field order follows the spec's tables.
type callBegin struct {
	Event        string `json:"event"`
	Caller       string `json:"caller"`
	CallerName   string `json:"caller_name"`
	Callee       string `json:"callee"`
	CalleeName   string `json:"callee_name"`
	CalledNumber string `json:"called_number"`
	UniqueID     string `json:"unique_id"`
}

type callEnd struct {
	Event    string `json:"event"`
	UniqueID string `json:"unique_id"`
	Status   string `json:"status"`
}

type callPickup struct {
	Event    string `json:"event"`
	UniqueID string `json:"unique_id"`
}

type createResponse struct {
	Event        string `json:"event"`
	UniqueID     string `json:"unique_id"`
	CallRandomID string `json:"call_random_id"`
}

type queueMember struct {
	Event      string  `json:"event"`
	Queue      any     `json:"queue"`
	Member     string  `json:"member"`
	MemberName *string `json:"member_name,omitempty"`
}

type queueJoin struct {
	Event      string `json:"event"`
	Queue      any    `json:"queue"`
	Caller     any    `json:"caller"`
	CallerName string `json:"caller_name"`
	UniqueID   string `json:"unique_id"`
	Position   int    `json:"position"`
}

type queueLeft struct {
	Event    string `json:"event"`
	Queue    any    `json:"queue"`
	UniqueID string `json:"unique_id"`
	Holdtime int    `json:"holdtime"`
}

// number renders a number the spec types Integer: as a JSON integer when
// it is one, else as the string it is (a queue named, not numbered).
func number(s string) any {
	if n, err := strconv.ParseUint(s, 10, 63); err == nil && strconv.FormatUint(n, 10) == s {
		return n
	}
	return s
}

// endStatus keeps the spec's list: the core's statuses are VIPTel's, but
// "interrupted" (switchboard stopped during the call, written at the next
// start) is not among them; to a VIPTel client that call failed on the
// PBX side.
func endStatus(s string) string {
	switch pbx.EndStatus(s) {
	case pbx.EndAnswer, pbx.EndBusy, pbx.EndNoAnswer, pbx.EndCancel, pbx.EndCongestion,
		pbx.EndChanUnavail, pbx.EndDontCall, pbx.EndInvalidArgs:
		return s
	}
	return string(pbx.EndCongestion)
}

// names resolves extension numbers to names for caller_name and
// callee_name.
type names func(number string) string

// encodeEvent translates one core event (already filtered for the
// principal) to the spec's event message; nil for events VIPTel has no
// message for.
func encodeEvent(e pbx.Event, name names) []byte {
	var v any
	switch e.Type {
	case pbx.EvCallNew:
		c := e.Call
		callerName := ""
		if len(c.Channels) > 0 {
			callerName = c.Channels[0].CallerIDName
		}
		if callerName == "" {
			callerName = nameOr(name, c.From)
		}
		v = callBegin{Event: "call.begin", Caller: c.From, CallerName: callerName, Callee: c.To,
			CalleeName: nameOr(name, c.To), CalledNumber: c.To, UniqueID: c.ID}
	case pbx.EvCallAnswered:
		v = callPickup{Event: "call.pickup", UniqueID: e.Call.ID}
	case pbx.EvCallEnded:
		v = callEnd{Event: "call.end", UniqueID: e.Call.ID, Status: endStatus(e.Cause)}
	case pbx.EvQueueMemberAdded, pbx.EvQueueMemberRemoved:
		ev := "queue.add"
		if e.Type == pbx.EvQueueMemberRemoved {
			ev = "queue.remove"
		}
		n := e.Member.Name
		if n == "" {
			n = nameOr(name, e.Member.Number)
		}
		v = queueMember{Event: ev, Queue: number(queueNumber(e)), Member: e.Member.Number, MemberName: &n}
	case pbx.EvQueueMemberPaused, pbx.EvQueueMemberUnpaused:
		ev := "queue.pause"
		if e.Type == pbx.EvQueueMemberUnpaused {
			ev = "queue.unpause"
		}
		v = queueMember{Event: ev, Queue: number(queueNumber(e)), Member: e.Member.Number}
	case pbx.EvQueueJoin:
		c := e.Caller
		cn := c.CallerIDName
		if cn == "" {
			cn = c.CallerIDNum
		}
		v = queueJoin{Event: "queue.join", Queue: number(queueNumber(e)), Caller: number(c.CallerIDNum), CallerName: cn,
			UniqueID: callerID(c), Position: c.Position}
	case pbx.EvQueueLeave:
		if e.Cause == pbx.LeaveAnswered {
			return nil // taken by an agent: not a queue.left (spec)
		}
		v = queueLeft{Event: "queue.left", Queue: number(queueNumber(e)), UniqueID: callerID(e.Caller), Holdtime: e.Caller.WaitSeconds}
	default:
		return nil
	}
	return encodeValue(v)
}

// encodeValue marshals one of the wire structs above (strings and ints
// only, so it cannot fail; if it did, the client gets a 500 rather than
// a panic).
func encodeValue(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return encode(resp(500, msgUnexpected))
	}
	return b
}

func nameOr(name names, number string) string {
	if name != nil {
		if n := name(number); n != "" {
			return n
		}
	}
	return number
}

// queueNumber is the queue's number (the spec's "Queue number"), its name
// when it has none.
func queueNumber(e pbx.Event) string {
	if e.Queue != nil {
		if e.Queue.Number != "" {
			return e.Queue.Number
		}
		return e.Queue.Name
	}
	if e.Member != nil {
		return e.Member.Queue
	}
	if e.Caller != nil {
		return e.Caller.Queue
	}
	return ""
}

func encode(r response) []byte {
	b, err := json.Marshal(r)
	if err != nil { // strings and ints only: cannot happen
		return []byte(fmt.Sprintf(`{"code":500,"message":%q}`, msgUnexpected))
	}
	return b
}

// callerID is the unique id of a queue caller's call, the one call.begin
// gave (its channel's when the call is not known).
func callerID(c *pbx.QueueCaller) string {
	if c.CallID != "" {
		return c.CallID
	}
	return c.UniqueID
}
