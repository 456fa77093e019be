package viptel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// Name is the dialect's config key.
const Name = "viptel"

// Defaults of Options.
const (
	// DefaultLoginTimeout is the spec's: no login attempt within 30 s
	// ends the connection.
	DefaultLoginTimeout = 30 * time.Second
	// DefaultPingInterval: a ping every 25 s, each answered within 25 s,
	// drops a dead client within 60 s (the bound).
	DefaultPingInterval = 25 * time.Second
	// DefaultMaxMessage is the largest request answered normally; every
	// request the spec has is well under 1 KiB.
	DefaultMaxMessage = 16 << 10
)

// hardReadLimit is where the WebSocket library itself stops reading and
// closes with 1009; between MaxMessage and this a message is read,
// refused with 400 and counted.
const hardReadLimit = 1 << 20

// maxOversized oversized messages on one connection are abuse: the
// connection is closed after that many.
const maxOversized = 3

// eventBuffer is each connection's event queue; a client that falls this
// far behind is disconnected (the bus drops slow consumers).
const eventBuffer = 1024

// writeTimeout bounds one message write to a client.
const writeTimeout = 10 * time.Second

// Options tune the dialect; zero values are the defaults. The config
// file sets LoginTimeout (OptionsFrom); tests also shorten the ping
// interval.
type Options struct {
	LoginTimeout time.Duration
	PingInterval time.Duration
	MaxMessage   int
}

func (o Options) withDefaults() Options {
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = DefaultLoginTimeout
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	return o
}

// Dialect serves the VIPTel WebSocket API. It owns every connection's
// goroutines: Close tells each client the server is restarting (503, as
// the spec announces restarts) and waits for them to end.
type Dialect struct {
	deps dialect.Deps
	opt  Options
	log  *slog.Logger

	// stop is closed by Close; sessions watch it. It is not a parent of
	// the sessions' contexts: they still have to write the 503 after it.
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	closed   bool
	wg       sync.WaitGroup
	active   atomic.Int64
	names    nameCache
	wire     wireCache
}

func (v *Dialect) now() time.Time {
	if v.deps.Now != nil {
		return v.deps.Now()
	}
	return time.Now()
}

// Connections is the number of open WebSocket connections.
func (v *Dialect) Connections() int { return int(v.active.Load()) }

var _ dialect.Dialect = (*Dialect)(nil)

// Bounds of the login_timeout option.
const (
	MinLoginTimeout = time.Second
	MaxLoginTimeout = 10 * time.Minute
)

// OptionsFrom reads the config file's options (dialects.viptel.options):
// login_timeout, a Go duration from 1s to 10m (default 30s). Any other
// option is an error naming it.
func OptionsFrom(o dialect.Options) (Options, error) {
	if err := o.Unknown("login_timeout"); err != nil {
		return Options{}, fmt.Errorf("viptel: %w", err)
	}
	lt, err := o.Duration("login_timeout", DefaultLoginTimeout, MinLoginTimeout, MaxLoginTimeout)
	if err != nil {
		return Options{}, fmt.Errorf("viptel: %w", err)
	}
	return Options{LoginTimeout: lt}, nil
}

// NewDialect is the node's factory for "viptel": New with the options of
// Deps.Options (OptionsFrom).
func NewDialect(d dialect.Deps) (dialect.Dialect, error) {
	o, err := OptionsFrom(d.Options)
	if err != nil {
		return nil, err
	}
	return New(d, o)
}

// New builds the dialect with options.
func New(d dialect.Deps, o Options) (*Dialect, error) {
	if d.Service == nil || d.Gate == nil || d.Gate.Auth == nil || d.Events == nil {
		return nil, errors.New("viptel: service, gate and events are required")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dialect{deps: d, opt: o.withDefaults(), log: log, stop: make(chan struct{})}, nil
}

// Name implements dialect.Dialect.
func (v *Dialect) Name() string { return Name }

// Routes implements dialect.Dialect: /viptel, and "/" for WebSocket
// upgrades only (VIPTel clients connect to the bare host). A plain GET of
// "/" is answered 404 so the root stays free of meaning.
func (v *Dialect) Routes() []string { return []string{"/viptel", "GET /{$}"} }

// Handler implements dialect.Dialect.
func (v *Dialect) Handler() http.Handler { return http.HandlerFunc(v.serve) }

// Close implements dialect.Dialect: every connection is told 503 "Server
// is restarting", then 110, and closed; Close waits for them up to ctx.
func (v *Dialect) Close(ctx context.Context) error {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.stopOnce.Do(func() { close(v.stop) })
	if v.active.Load() == 0 {
		// Nothing to wait for (and no new connection can start): done
		// even when ctx is already spent by the node's earlier steps.
		return nil
	}
	done := make(chan struct{})
	go func() { v.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("viptel: close: connections still open: %w", ctx.Err())
	}
}

// isUpgrade reports a WebSocket upgrade request.
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "websocket") {
				return true
			}
		}
	}
	return false
}

func (v *Dialect) serve(w http.ResponseWriter, r *http.Request) {
	if !isUpgrade(r) {
		if r.URL.Path == "/viptel" {
			w.Header().Set("Upgrade", "websocket")
			http.Error(w, "VIPTel API: connect with a WebSocket client", http.StatusUpgradeRequired)
			return
		}
		http.NotFound(w, r)
		return
	}
	// An address no tenant's allowlist has could log in to no account:
	// it gets no WebSocket and no nonce (as VIPTel's own service, which
	// serves only registered addresses).
	if ip := dialect.RemoteIP(r); !v.deps.Gate.MayConnect(ip) {
		v.log.Info("viptel: address in no tenant's allowlist; refused before the nonce", "ip", ip)
		http.Error(w, "address not allowed", http.StatusForbidden)
		return
	}
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		http.Error(w, "server is restarting", http.StatusServiceUnavailable)
		return
	}
	v.wg.Add(1)
	v.active.Add(1)
	v.mu.Unlock()
	defer v.wg.Done()
	defer v.active.Add(-1)
	// Any origin: VIPTel clients are browser pages on the customer's own
	// site. There is no ambient credential (no cookie, no header) to
	// ride on; the login is a challenge answered inside the connection.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept wrote the error
	}
	defer conn.CloseNow()
	conn.SetReadLimit(hardReadLimit)
	s := newSession(v, conn, r)
	s.run()
}
