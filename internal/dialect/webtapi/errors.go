package webtapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// The spec's only answers: 1 for success, 0 for any error.
const (
	replyOK   = "1"
	replyFail = "0"
)

// errUnknownAction: the action parameter names nothing this server does.
var errUnknownAction = errors.New("unknown action")

// Error codes of the X-Webtapi-Error header and the audit log. The body is
// always "0" (the protocol has no error text); the code tells an operator
// (and a client that cares) why without exposing internal text.
const (
	codeParam       = "bad_parameter"
	codeAction      = "unknown_action"
	codeAuth        = "bad_session"
	codeLocked      = "locked_out"
	codeForbidden   = "forbidden"
	codeNotFound    = "not_found"
	codeUnavailable = "unavailable"
	codeBusy        = "busy"
	codeLimit       = "limit_exceeded"
	codeDevice      = "device_error"
	codeUnsupported = "not_supported"
	codeShutdown    = "shutting_down"
	codeInternal    = "internal_error"
)

// errorCode maps every error an action meets to its code and the HTTP-like
// status the audit log records for it. The client sees "0" and status 200
// in every case (a PHP client compares the body); one table test pins the
// mapping (TestErrorCode).
func errorCode(err error) (code string, auditStatus int) {
	switch {
	case errors.Is(err, errParam), errors.Is(err, pbx.ErrInvalidArgument), errors.Is(err, store.ErrInvalidFilter):
		return codeParam, http.StatusBadRequest
	case errors.Is(err, errUnknownAction):
		return codeAction, http.StatusBadRequest
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrAddressNotAllowed), errors.Is(err, auth.ErrAccountDisabled):
		return codeAuth, http.StatusUnauthorized
	case errors.Is(err, auth.ErrLockedOut):
		return codeLocked, http.StatusTooManyRequests
	case errors.Is(err, dialect.ErrForbidden), errors.Is(err, pbx.ErrUnknownTenant):
		return codeForbidden, http.StatusForbidden
	case errors.Is(err, pbx.ErrNotFound), errors.Is(err, store.ErrNotFound), errors.Is(err, pbx.ErrUnknownExten):
		return codeNotFound, http.StatusNotFound
	case errors.Is(err, pbx.ErrUnavailable):
		return codeUnavailable, http.StatusConflict
	case errors.Is(err, pbx.ErrBusy):
		return codeBusy, http.StatusConflict
	case errors.Is(err, pbx.ErrLimit):
		return codeLimit, http.StatusTooManyRequests
	case errors.Is(err, dialect.ErrDevice):
		return codeDevice, http.StatusBadGateway
	case errors.Is(err, pbx.ErrNotSupported):
		return codeUnsupported, http.StatusNotImplemented
	case errors.Is(err, pbx.ErrShuttingDown), errors.Is(err, context.DeadlineExceeded):
		return codeShutdown, http.StatusServiceUnavailable
	}
	return codeInternal, http.StatusInternalServerError
}
