package cloudpbx

import (
	"context"
	"errors"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// The spec's answers are plain-text phrases ("OK", "Action Error",
// "Parameter is missing"); the other failures follow the same style with
// the HTTP reason phrase, so a client that compares bodies sees a fixed
// string and never our internal error text.
const (
	msgOK               = "OK"
	msgActionError      = "Action Error"
	msgParameterMissing = "Parameter is missing"
	msgUnauthorized     = "Unauthorized"
	msgForbidden        = "Forbidden"
	msgNotFound         = "Not Found"
	msgMethodNotAllowed = "Method Not Allowed"
	msgTooLarge         = "Request Entity Too Large"
	msgTooMany          = "Too Many Requests"
	msgNotImplemented   = "Not Implemented"
	msgUnavailable      = "Service Unavailable"
	msgInternal         = "Internal Server Error"
)

// errParameter marks a bad or missing query or form parameter.
var errParameter = errors.New("bad parameter")

// errorStatus maps every error a handler meets to the status and body the
// client sees; one table test pins it (TestErrorStatus).
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, errParameter), errors.Is(err, pbx.ErrInvalidArgument), errors.Is(err, store.ErrInvalidFilter):
		return http.StatusBadRequest, msgParameterMissing
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrAddressNotAllowed):
		return http.StatusUnauthorized, msgUnauthorized
	case errors.Is(err, auth.ErrLockedOut):
		return http.StatusTooManyRequests, msgTooMany
	case errors.Is(err, dialect.ErrForbidden), errors.Is(err, pbx.ErrUnknownTenant):
		return http.StatusForbidden, msgForbidden
	case errors.Is(err, pbx.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, msgNotFound
	case errors.Is(err, pbx.ErrNotSupported):
		return http.StatusNotImplemented, msgNotImplemented
	case errors.Is(err, pbx.ErrShuttingDown), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, msgUnavailable
	}
	return http.StatusInternalServerError, msgInternal
}

// dialStatus is /dial's narrower mapping: the spec answers every failed
// invocation with "Action Error" 500 (an unknown cpa, a busy or
// unregistered phone, a limit); only credentials and rights keep their
// own statuses, as on every route.
func dialStatus(err error) (int, string) {
	switch status, msg := errorStatus(err); status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return status, msg
	}
	return http.StatusInternalServerError, msgActionError
}

// writeText answers in the spec's plain-text style.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// smsStatus is /sendSMS's mapping: credentials, rights, lockouts and bad
// parameters keep the plain-text answers of every route (response
// false); any other failure of the call is the spec's RESPONSE object
// with FAILED and 500, its responseErrorMessage a fixed sentence per
// cause, never our internal error text.
func smsStatus(err error) (status int, msg string, response bool) {
	switch status, msg := errorStatus(err); status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return status, msg, false
	}
	switch {
	case errors.Is(err, pbx.ErrNotSupported):
		return http.StatusInternalServerError, "SMS gateway is not available on this PBX", true
	case errors.Is(err, pbx.ErrShuttingDown):
		return http.StatusInternalServerError, "PBX is restarting, try again", true
	}
	return http.StatusInternalServerError, "SMS could not be queued", true
}
