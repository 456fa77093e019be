package sipengine

import "github.com/switchboard-pbx/switchboard/internal/pbx"

// Core is what the engine needs of the domain core: the facts it reports
// (pbx.Reporter) and the queue state a waiting caller is told about. The node
// builds the core and the engine, then attaches the engine to the core
// (pbx.Core.SetEngine): the engine never does it itself.
type Core interface {
	pbx.Reporter
	// Queue state for position announcements and the *46 toggle.
	QueueCalls(tenant, queue string) ([]pbx.QueueCaller, error)
	Queues(tenant string) ([]pbx.Queue, error)
}

var _ Core = (*pbx.Core)(nil)
