package viptel

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestErrorResponses pins the one mapping from errors to the spec's
// codes, wrapped the way the service and the core wrap them.
func TestErrorResponses(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("doing it: %w", err) }
	for _, tc := range []struct {
		err   error
		code  int
		msg   string
		close bool
	}{
		{auth.ErrBadCredentials, 401, msgWrongLogin, true},
		{auth.ErrAmbiguousLogin, 401, msgWrongLogin, true},
		{auth.ErrInvalidLogin, 401, msgWrongLogin, true},
		{auth.ErrAddressNotAllowed, 401, msgWrongLogin, true},
		{auth.ErrLockedOut, 401, msgWrongLogin, true},
		{fmt.Errorf("%w: unpaid", auth.ErrAccountDisabled), 401, msgNotActivated, true},
		{auth.ErrOverloaded, 504, msgPBXRetry, true},
		{auth.ErrUnavailable, 504, msgPBXRetry, true},
		{wrap(dialect.ErrForbidden), 403, msgForbidden, false},
		{wrap(pbx.ErrNotFound), 404, msgNoCall, false},
		{wrap(pbx.ErrShuttingDown), 503, msgRestarting, true},
		{wrap(pbx.ErrInvalidArgument), 500, msgFailed, false},
		{wrap(pbx.ErrUnknownExten), 500, msgFailed, false},
		{wrap(pbx.ErrUnavailable), 500, msgFailed, false},
		{wrap(pbx.ErrBusy), 500, msgFailed, false},
		{wrap(pbx.ErrLimit), 500, msgFailed, false},
		{wrap(pbx.ErrNotSupported), 500, msgFailed, false},
		{errors.New("disk on fire"), 500, msgFailed, false},
	} {
		r, closing := errorResponse(tc.err)
		if r.Code != tc.code || r.Message != tc.msg || closing != tc.close {
			t.Errorf("%v: %d %q close=%v, want %d %q close=%v", tc.err, r.Code, r.Message, closing, tc.code, tc.msg, tc.close)
		}
	}
}

// TestSpecMessages: the response table of the spec, code and text, as
// the constants spell them.
func TestSpecMessages(t *testing.T) {
	for code, msgs := range map[int][]string{
		100: {msgHello}, 110: {msgBye, msgClosing}, 202: {msgLoggedIn},
		400: {msgActionType, msgInvalid}, 401: {msgNotActivated, msgWrongLogin, msgLoginFirst},
		403: {msgForbidden}, 404: {msgMissing, msgNoCall, msgUnknown}, 408: {msgLoginTimeout},
		500: {msgUnexpected, msgFailed}, 503: {msgNoPBX, msgRestarting}, 504: {msgPBXRetry},
	} {
		for _, m := range msgs {
			b := encode(resp(code, m))
			if want := fmt.Sprintf(`{"code":%d,"message":%q}`, code, m); string(b) != want {
				t.Errorf("%s, want %s", b, want)
			}
		}
	}
	if msgLoggedIn != "Login successfull" {
		t.Error("the spec spells it successfull")
	}
}

// FuzzParseRequest: any bytes give either a request with a non-empty
// action or one of the spec's answers; never a panic; reading the
// fields of a parsed request never panics either.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"action":"user.login","username":"viptel","password":"b5d50737185ad2c5e6abea5a3683285685e9085e"}`,
		`{"action":"call.create","from":12,"to":"0220282028","call_random_id":"13798421854"}`,
		`{"action":5}`, `[]`, `null`, `{"action":null}`, `{"action":""}`, "\xff", `{"from":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, bad := parseRequest(b)
		if bad != nil {
			if req.Action != "" {
				t.Fatalf("an answer and an action: %+v", req)
			}
			if _, err := json.Marshal(bad); err != nil {
				t.Fatal(err)
			}
			switch bad.Code {
			case 400, 404:
			default:
				t.Fatalf("code %d", bad.Code)
			}
			return
		}
		if req.Action == "" {
			t.Fatal("no action and no answer")
		}
		var errs []fieldError
		for _, name := range []string{"from", "to", "call_random_id", "unique_id", "destination", "username"} {
			_ = req.str(name, true, name != "username", &errs)
		}
	})
}

// TestEncodeQueueCallerEvents: queue.join and queue.left as the spec
// lists their fields; a caller an agent answered leaves no queue.left.
func TestEncodeQueueCallerEvents(t *testing.T) {
	q := &pbx.Queue{Name: "VMX", Number: "7777"}
	c := &pbx.QueueCaller{Queue: "VMX", Position: 2, CallID: "1453467797.684", UniqueID: "1453467797.685", CallerIDNum: "0905123456", WaitSeconds: 17}
	for _, tc := range []struct {
		e    pbx.Event
		want string
	}{
		{pbx.Event{Type: pbx.EvQueueJoin, Queue: q, Caller: c},
			`{"event":"queue.join","queue":7777,"caller":"0905123456","caller_name":"0905123456","unique_id":"1453467797.684","position":2}`},
		{pbx.Event{Type: pbx.EvQueueLeave, Queue: q, Caller: c, Cause: pbx.LeaveAbandoned},
			`{"event":"queue.left","queue":7777,"unique_id":"1453467797.684","holdtime":17}`},
		{pbx.Event{Type: pbx.EvQueueLeave, Queue: q, Caller: c, Cause: pbx.LeaveAnswered}, ``},
		{pbx.Event{Type: pbx.EvQueueJoin, Queue: &pbx.Queue{Name: "Sales"}, Caller: &pbx.QueueCaller{CallerIDNum: "42", CallerIDName: "Jan", UniqueID: "1.2", Position: 1}},
			`{"event":"queue.join","queue":"Sales","caller":42,"caller_name":"Jan","unique_id":"1.2","position":1}`},
		{pbx.Event{Type: pbx.EvCallEnded, Call: &pbx.Call{ID: "1.1"}, Cause: string(pbx.EndInterrupted)},
			`{"event":"call.end","unique_id":"1.1","status":"congestion"}`},
		{pbx.Event{Type: pbx.EvDTMF}, ``},
	} {
		if got := string(encodeEvent(tc.e, nil)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.e.Type, got, tc.want)
		}
	}
}
