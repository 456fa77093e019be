package pbx

import "errors"

// Sentinel errors. Adapters map them to their own wire codes with one table
// each; engines wrap them with context.
var (
	ErrNotFound        = errors.New("not found")
	ErrUnknownTenant   = errors.New("unknown tenant")
	ErrUnknownExten    = errors.New("unknown extension")
	ErrUnavailable     = errors.New("extension not registered")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrBusy            = errors.New("busy")
	ErrNotSupported    = errors.New("not supported by this engine")
	ErrShuttingDown    = errors.New("shutting down")
	// ErrLimit is a configured limit (concurrent calls, originate rate)
	// reached; trying later may succeed.
	ErrLimit = errors.New("limit reached")
)
