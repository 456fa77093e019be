package voipmonitor

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestErrorReply pins the one mapping from errors to what a client sees.
func TestErrorReply(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	for _, tc := range []struct {
		err    error
		status int
		reason string
	}{
		{wrap(paramErr("limit: a positive number")), 400, "limit: a positive number"},
		{wrap(errParameter), 400, "invalid parameters"},
		{wrap(pbx.ErrInvalidArgument), 400, "invalid parameters"},
		{wrap(store.ErrInvalidFilter), 400, "invalid parameters"},
		{wrap(errUnknownTask), 400, "unknown task or module"},
		{wrap(auth.ErrBadCredentials), 401, "wrong user or password, or session expired"},
		{wrap(auth.ErrAddressNotAllowed), 401, "login from this address is not allowed"},
		{wrap(fmt.Errorf("%w: %s", auth.ErrAccountDisabled, "left the company")), 403, "user is blocked: left the company"},
		{auth.ErrAccountDisabled, 403, "user is blocked"},
		{wrap(auth.ErrLockedOut), 429, "too many failed logins, try later"},
		{wrap(dialect.ErrForbidden), 403, "permission denied"},
		{wrap(pbx.ErrUnknownTenant), 403, "permission denied"},
		{wrap(pbx.ErrNotFound), 404, "not found"},
		{wrap(store.ErrNotFound), 404, "not found"},
		{wrap(pbx.ErrNotSupported), 501, "not supported"},
		{wrap(pbx.ErrShuttingDown), 503, "service unavailable"},
		{wrap(context.DeadlineExceeded), 503, "service unavailable"},
		{errors.New("disk on fire"), 500, "internal error"},
	} {
		if s, m := errorReply(tc.err); s != tc.status || m != tc.reason {
			t.Errorf("errorReply(%v) = %d %q, want %d %q", tc.err, s, m, tc.status, tc.reason)
		}
	}
}
