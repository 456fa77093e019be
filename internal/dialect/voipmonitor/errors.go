package voipmonitor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// errParameter marks a missing or malformed request parameter; its text
// (ours, naming the parameter) is shown to the client.
var errParameter = errors.New("bad parameter")

// errUnknownTask is a task or module this dialect does not serve.
var errUnknownTask = errors.New("unknown task")

// badParam is an errParameter with a message for the client.
type badParam struct{ msg string }

func (b badParam) Error() string { return b.msg }
func (b badParam) Unwrap() error { return errParameter }

func paramErr(msg string) error { return badParam{msg} }

// errorReply maps every error a handler meets to the HTTP status and the
// reason the client sees, in one place; TestErrorReply pins it. Only
// parameter errors show our text (it names the parameter); everything else
// gets a fixed phrase, never internal detail.
func errorReply(err error) (int, string) {
	var bp badParam
	switch {
	case errors.As(err, &bp):
		return http.StatusBadRequest, bp.msg
	case errors.Is(err, errParameter), errors.Is(err, pbx.ErrInvalidArgument), errors.Is(err, store.ErrInvalidFilter):
		return http.StatusBadRequest, "invalid parameters"
	case errors.Is(err, errUnknownTask):
		return http.StatusBadRequest, "unknown task or module"
	case errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized, "wrong user or password, or session expired"
	case errors.Is(err, auth.ErrAccountDisabled):
		// The password was right; VoIPmonitor shows the operator's
		// blocked_reason to the user.
		return http.StatusForbidden, "user is blocked" + blockedReason(err)
	case errors.Is(err, auth.ErrAddressNotAllowed):
		return http.StatusUnauthorized, "login from this address is not allowed"
	case errors.Is(err, auth.ErrLockedOut):
		return http.StatusTooManyRequests, "too many failed logins, try later"
	case errors.Is(err, dialect.ErrForbidden), errors.Is(err, pbx.ErrUnknownTenant):
		return http.StatusForbidden, "permission denied"
	case errors.Is(err, pbx.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, pbx.ErrNotSupported):
		return http.StatusNotImplemented, "not supported"
	case errors.Is(err, pbx.ErrShuttingDown), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "service unavailable"
	}
	return http.StatusInternalServerError, "internal error"
}

// blockedReason is ": <reason>" from a disabled account's error, bounded.
func blockedReason(err error) string {
	msg := err.Error()
	i := strings.Index(msg, auth.ErrAccountDisabled.Error()+": ")
	if i < 0 {
		return ""
	}
	r := msg[i+len(auth.ErrAccountDisabled.Error())+2:]
	if len(r) > 200 {
		r = r[:200]
	}
	return ": " + r
}

// errorBody is the JSON of a failure: success false with the reason, in
// both places VoIPmonitor's scripts read it (the GUI model's
// errors.reason and api.php's error).
type errorBody struct {
	Success bool `json:"success"`
	Errors  struct {
		Reason string `json:"reason"`
	} `json:"errors"`
	Error string `json:"error"`
	Debug bool   `json:"_debug"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "-->" as the spec prints it, not "--\u003e"
	_ = enc.Encode(v)
}
