package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/dialect/cloudpbx"
	"github.com/switchboard-pbx/switchboard/internal/dialect/native"
	"github.com/switchboard-pbx/switchboard/internal/dialect/viptel"
	"github.com/switchboard-pbx/switchboard/internal/dialect/voipmonitor"
	"github.com/switchboard-pbx/switchboard/internal/dialect/webtapi"
)

// dialectFactories are the API dialects this build has, by config name.
func dialectFactories() map[string]dialect.Factory {
	return map[string]dialect.Factory{
		native.Name:      native.NewDialect,
		"cloudpbx":       cloudpbx.NewDialect,
		viptel.Name:      viptel.NewDialect,
		"webtapi":        webtapi.NewDialect,
		voipmonitor.Name: voipmonitor.NewDialect,
	}
}

// ownListener is a dialect served on a listener of its own.
type ownListener struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

// startDialects builds every enabled dialect, mounts its routes on the
// shared mux (under its prefix) and starts its own listener if it has one.
// extra adds factories (tests register dialects of their own this way).
func (n *Node) startDialects(deps dialect.Deps, extra map[string]dialect.Factory, mux *http.ServeMux, tc *tls.Config) error {
	fs := dialectFactories()
	for k, f := range extra {
		fs[k] = f
	}
	for name := range n.cfg.Dialects {
		if fs[name] == nil {
			return fmt.Errorf("dialects.%s: no such dialect in this build", name)
		}
	}
	names := make([]string, 0, len(fs))
	for name := range fs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !n.cfg.DialectEnabled(name) {
			continue
		}
		dc := n.cfg.Dialects[name]
		deps := deps
		deps.Logger = n.log.With("dialect", name)
		deps.Options = dialect.Options(maps.Clone(dc.Options))
		if dc.Listen == "" && n.servesPanel() {
			// Served only on the shared listener, whose "/" is the panel
			// (a dialect's own listener has no panel to send browsers to).
			deps.Panel = "/"
		}
		d, err := fs[name](deps)
		if err != nil {
			return fmt.Errorf("dialect %s: %w", name, err)
		}
		n.dialects = append(n.dialects, d)
		if err := mount(mux, d, dc.Prefix); err != nil {
			return fmt.Errorf("dialect %s: %w", name, err)
		}
		if dc.Listen != "" {
			own := http.NewServeMux()
			if err := mount(own, d, ""); err != nil {
				return fmt.Errorf("dialect %s: %w", name, err)
			}
			ln, err := net.Listen("tcp", dc.Listen)
			if err != nil {
				return fmt.Errorf("dialect %s: listen %s: %w", name, dc.Listen, err)
			}
			if tc != nil {
				ln = tls.NewListener(ln, tc)
			}
			srv := n.httpServer(own)
			n.own = append(n.own, ownListener{name: name, ln: ln, srv: srv})
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					n.log.Error("dialect listener ended", "dialect", name, "err", err)
				}
			}()
		}
		n.log.Info("dialect serving", "dialect", name, "prefix", dc.Prefix, "listen", dc.Listen)
	}
	return nil
}

// mount registers a dialect's routes on mux, each under prefix (which is
// stripped before the dialect sees the request). Two dialects claiming
// one route is a configuration error, not a panic.
func mount(mux *http.ServeMux, d dialect.Dialect, prefix string) (err error) {
	h := d.Handler()
	if prefix != "" {
		h = http.StripPrefix(prefix, h)
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("routes clash with another dialect's: %v", v)
		}
	}()
	for _, route := range d.Routes() {
		method, path, hasMethod := strings.Cut(route, " ")
		if !hasMethod {
			method, path = "", route
		}
		pattern := prefix + path
		if hasMethod {
			pattern = method + " " + pattern
		}
		mux.Handle(pattern, h)
	}
	return nil
}

// httpServer is an API server with the node's timeouts and limits.
func (n *Node) httpServer(h http.Handler) *http.Server {
	return &http.Server{Handler: bodyDeadline(h, n.cfg.Limits.HTTPBodyTimeout), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return n.httpCtx },
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelWarn)}
}

// DialectAddr is the address of a dialect's own listener, if it has one.
func (n *Node) DialectAddr(name string) netip.AddrPort {
	for _, o := range n.own {
		if o.name == name {
			return o.ln.Addr().(*net.TCPAddr).AddrPort()
		}
	}
	return netip.AddrPort{}
}

// closeDialects stops the dialects' own listeners, then the dialects.
func (n *Node) closeDialects(ctx context.Context) error {
	var errs []error
	for _, o := range n.own {
		errs = append(errs, o.srv.Shutdown(ctx))
	}
	for _, d := range n.dialects {
		errs = append(errs, d.Close(ctx))
	}
	return errors.Join(errs...)
}

// streamLimitHits sums the event streams refused by the dialects that
// count them.
func (n *Node) streamLimitHits() uint64 {
	var sum uint64
	for _, d := range n.dialects {
		if c, ok := d.(interface{ StreamLimitHits() uint64 }); ok {
			sum += c.StreamLimitHits()
		}
	}
	return sum
}
