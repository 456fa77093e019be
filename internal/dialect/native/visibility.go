package native

import (
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// encodeFor renders an event for one subscriber: the shared bytes,
// encoded once for everyone, unless its rights filter events; nil when
// the event is not for it.
func (a *API) encodeFor(p auth.Principal, filtered bool, env eventbus.Envelope[pbx.Event]) []byte {
	if !filtered {
		return a.wire.get(env)
	}
	e, ok := dialect.VisibleEvent(p, env.Event)
	if !ok {
		return nil
	}
	return EncodeEvent(env.Seq, env.Tenant, e)
}
