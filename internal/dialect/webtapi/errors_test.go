package webtapi

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestErrorCode pins the one mapping from errors to the code a client
// finds in X-Webtapi-Error and the status the audit log records (the body
// is "0" for all of them).
func TestErrorCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	for _, tc := range []struct {
		err    error
		code   string
		status int
	}{
		{wrap(errParam), "bad_parameter", 400},
		{wrap(pbx.ErrInvalidArgument), "bad_parameter", 400},
		{wrap(store.ErrInvalidFilter), "bad_parameter", 400},
		{wrap(errUnknownAction), "unknown_action", 400},
		{wrap(auth.ErrBadCredentials), "bad_session", 401},
		{wrap(auth.ErrAddressNotAllowed), "bad_session", 401},
		{wrap(auth.ErrAccountDisabled), "bad_session", 401},
		{&auth.LockedOutError{RetryAfter: time.Minute}, "locked_out", 429},
		{wrap(dialect.ErrForbidden), "forbidden", 403},
		{wrap(pbx.ErrUnknownTenant), "forbidden", 403},
		{wrap(pbx.ErrNotFound), "not_found", 404},
		{wrap(store.ErrNotFound), "not_found", 404},
		{wrap(pbx.ErrUnknownExten), "not_found", 404},
		{wrap(pbx.ErrUnavailable), "unavailable", 409},
		{wrap(pbx.ErrBusy), "busy", 409},
		{wrap(pbx.ErrLimit), "limit_exceeded", 429},
		{wrap(dialect.ErrDevice), "device_error", 502},
		{wrap(pbx.ErrNotSupported), "not_supported", 501},
		{wrap(pbx.ErrShuttingDown), "shutting_down", 503},
		{wrap(context.DeadlineExceeded), "shutting_down", 503},
		{errors.New("disk on fire"), "internal_error", 500},
	} {
		if code, st := errorCode(tc.err); code != tc.code || st != tc.status {
			t.Errorf("errorCode(%v) = %s %d, want %s %d", tc.err, code, st, tc.code, tc.status)
		}
	}
}
