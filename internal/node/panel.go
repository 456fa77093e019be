package node

import (
	"fmt"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/dialect/native"
	"github.com/switchboard-pbx/switchboard/internal/panel"
)

// withPanel puts the web operator panel in front of the shared mux when
// the native API it is a client of is served there: a plain GET / is the
// panel's page, /panel/... its assets, and everything else (a WebSocket
// upgrade at "/", which is VIPTel's, included) goes to the mux unchanged.
func (n *Node) withPanel(mux http.Handler) (http.Handler, error) {
	if !n.servesPanel() {
		return mux, nil
	}
	p, err := panel.New(n.cfg.Dialects[native.Name].Prefix + "/api/v1")
	if err != nil {
		return nil, fmt.Errorf("panel: %w", err)
	}
	return panel.Compose(mux, p), nil
}

// servesPanel reports whether the shared listener serves the panel: it
// does whenever the native API, which it is a client of, is enabled.
func (n *Node) servesPanel() bool { return n.cfg.DialectEnabled(native.Name) }
