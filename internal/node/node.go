// Package node assembles one running switchboard from its configuration:
// the CDR store, the domain core, the SIP engine, the HTTP API and, in demo
// mode, the bot phones and the simulated carrier. cmd/switchboard and the
// end-to-end tests use it; nothing else imports it.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/demobot"
	"github.com/switchboard-pbx/switchboard/internal/devices"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/dialect/native"
	"github.com/switchboard-pbx/switchboard/internal/dossier"
	"github.com/switchboard-pbx/switchboard/internal/eventlog"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/metrics"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sipengine"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/webhook"
)

// Options are run-time choices that are not part of the config file.
type Options struct {
	Logger *slog.Logger
	// DemoTraffic makes the demo bots place this many random calls a minute,
	// each held between DemoHoldMin and DemoHoldMax (default 5-30 s).
	DemoTraffic              float64
	DemoHoldMin, DemoHoldMax time.Duration
	// DemoAnswerDelay overrides the bots' answer delay (tests use it).
	DemoAnswerDelay time.Duration
	// PSTNNoAnswerAfter overrides how long the simulated carrier rings
	// numbers ending in 408 (tests use it).
	PSTNNoAnswerAfter time.Duration
	// Dialects adds API dialects to this build's (tests register their
	// own); they are enabled through the config's dialects: block.
	Dialects map[string]dialect.Factory
	// WebhookAttempts and WebhookFirstDelay override the delivery retry
	// schedule (tests use them; defaults 8 and 1 s).
	WebhookAttempts   int
	WebhookFirstDelay time.Duration
}

// Node is one running switchboard.
type Node struct {
	cfg    *config.Config
	log    *slog.Logger
	store  *sqlite.Store
	core   *pbx.Core
	arts   *artifacts.Store
	relays *devices.Relays
	camRec *devices.Recorder
	sms    *sms.Outbox
	svc    *dialect.Service
	doors  *devices.DoorTriggers
	tls    bool // the HTTP API is served over TLS
	elog   *eventlog.Log
	hooks  *webhook.Dispatcher
	audit  *audit.Log
	ports  *media.PortAllocator
	eng    *sipengine.Engine
	http   *http.Server
	ln     net.Listener

	metrics    *metrics.Metrics // nil unless configured
	metricsSrv *http.Server
	metricsLn  net.Listener

	pstn      *demobot.PSTN
	farm      *demobot.Farm
	botPorts  *media.PortAllocator
	cancelBot context.CancelFunc

	cancelRetention context.CancelFunc
	httpCtx         context.Context // requests' base context, cancelled at close
	cancelHTTP      context.CancelFunc

	dialects []dialect.Dialect
	own      []ownListener // dialects' own listeners

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start builds and starts everything; on error nothing is left running.
func Start(ctx context.Context, cfg *config.Config, opts Options) (n *Node, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	node := &Node{cfg: cfg, log: opts.Logger}
	n = node
	defer func() {
		if err != nil {
			// Return statements have already set n to nil.
			_ = node.Close(context.Background())
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	dbPath := cfg.Database.Path
	if dbPath == "" {
		dbPath = filepath.Join(cfg.DataDir, "switchboard.db")
	}
	n.store, err = sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open cdr store: %w", err)
	}

	n.arts = artifacts.New(cfg.Recording.Dir, cfg.Capture.Dir)

	dir := pbx.Directory{}
	for _, t := range cfg.Tenants {
		te := pbx.TenantEntry{Name: t.Name, Domain: t.Domain}
		if t.TimeZone != "" {
			if te.Location, err = time.LoadLocation(t.TimeZone); err != nil {
				return nil, fmt.Errorf("tenant %s: timezone: %w", t.Name, err)
			}
		}
		for _, x := range t.Extensions {
			te.Extensions = append(te.Extensions, pbx.ExtensionEntry{Number: x.Number, Name: x.Name, Record: x.Record, Camera: doorCamera(t, x.Number)})
		}
		for _, tr := range t.Trunks {
			if tr.Record {
				te.RecordTrunks = append(te.RecordTrunks, tr.Name)
			}
			if len(tr.Rates) > 0 {
				rt := pbx.RateTable{Increment: tr.BillingIncrement}
				for _, r := range tr.Rates {
					rt.Rates = append(rt.Rates, pbx.Rate{Prefix: r.Prefix, Zone: r.Zone, PerMinute: r.PerMinute})
				}
				if te.Rates == nil {
					te.Rates = map[string]pbx.RateTable{}
				}
				te.Rates[tr.Name] = rt
			}
		}
		for _, cf := range t.Conferences {
			te.Conferences = append(te.Conferences, pbx.ConferenceEntry{Name: cf.Name, Number: cf.Number})
		}
		for _, q := range t.Queues {
			qe := pbx.QueueEntry{Name: q.Name, Number: q.Number, Strategy: q.Strategy, RingTimeout: q.RingTimeout,
				Retry: q.Retry, WrapUp: q.WrapUp, MaxWait: q.MaxWait, MaxLen: q.MaxLen, Overflow: q.Overflow,
				JoinEmpty: *q.JoinEmpty, LeaveWhenEmpty: q.LeaveEmpty, MusicOnHold: q.Music, AnnounceEvery: q.Announce, AnnounceDir: q.AnnounceDir}
			for _, m := range q.Members {
				num, pen, _ := config.MemberPenalty(m) // validated at load
				qe.Members = append(qe.Members, pbx.QueueMemberEntry{Number: num, Penalty: pen})
			}
			te.Queues = append(te.Queues, qe)
		}
		dir.Tenants = append(dir.Tenants, te)
	}
	n.core, err = pbx.NewCore(dir, n.store, pbx.Options{Logger: n.log, FirstSequence: uint64(time.Now().UnixMicro() % 1e9),
		Recordings: n.store, Artifacts: n.arts, QueueLog: n.store,
		Limits: pbx.Limits{MaxCallsPerTenant: cfg.Limits.CallsPerTenant, MaxCallsPerOwner: cfg.Limits.CallsPerUser,
			OriginatesPerMinuteTenant: cfg.Limits.OriginatesPerMinuteTenant, OriginatesPerMinuteOwner: cfg.Limits.OriginatesPerMinuteUser}})
	if err != nil {
		return nil, err
	}
	// The event log subscribes before anything can publish, so it misses
	// nothing, and continues the numbering of the previous run.
	n.elog, err = eventlog.Start(ctx, n.core, n.store, eventlog.Options{Logger: n.log})
	if err != nil {
		return nil, err
	}
	if k, err := n.recoverCalls(ctx); err != nil {
		n.log.Warn("recovering calls the previous run left live", "err", err)
	} else if k > 0 {
		n.log.Warn("calls live when the previous run stopped got CDRs marked interrupted", "count", k)
	}
	if k, err := n.core.RecoverRecordings(ctx); err != nil {
		n.log.Warn("recovering recordings of the previous run", "err", err)
	} else if k > 0 {
		n.log.Warn("recordings left open by the previous run marked interrupted", "count", k)
	}

	sipAddr, err := netip.ParseAddrPort(cfg.Listen.SIP)
	if err != nil {
		return nil, fmt.Errorf("listen.sip: %w", err)
	}
	rtpIP := sipAddr.Addr()
	if cfg.RTP.IP != "" {
		if rtpIP, err = netip.ParseAddr(cfg.RTP.IP); err != nil {
			return nil, fmt.Errorf("rtp.ip: %w", err)
		}
	}
	n.ports, err = media.NewPortAllocator(rtpIP, cfg.RTP.PortMin, cfg.RTP.PortMax, cfg.RTP.Drain)
	if err != nil {
		return nil, fmt.Errorf("rtp ports: %w", err)
	}

	if cfg.Demo {
		// The simulated carrier must exist before the engine so its address
		// can be the demo trunk's.
		n.botPorts, err = media.NewPortAllocator(rtpIP, 40000, 49998, time.Second)
		if err != nil {
			return nil, fmt.Errorf("demo rtp ports: %w", err)
		}
		pc := demobot.PSTNConfig{ListenIP: rtpIP, Ports: n.botPorts, Logger: n.log}
		if opts.PSTNNoAnswerAfter > 0 {
			pc.NoAnswerAfter = opts.PSTNNoAnswerAfter
		}
		if opts.DemoAnswerDelay > 0 {
			pc.AnswerDelay = opts.DemoAnswerDelay
		}
		n.pstn, err = demobot.NewPSTN(pc)
		if err != nil {
			return nil, fmt.Errorf("demo carrier: %w", err)
		}
		if err := n.pstn.Start(ctx); err != nil {
			return nil, fmt.Errorf("demo carrier: %w", err)
		}
	}

	ecfg := sipengine.Config{
		Listen: cfg.Listen.SIP, Transports: cfg.Listen.SIPTransports, Ports: n.ports, Logger: n.log,
		AuthGuard: sipengine.AuthGuardConfig{AddrFailures: cfg.SIPSecurity.AddressFailures, ExtFailures: cfg.SIPSecurity.ExtensionFailures,
			Window: cfg.SIPSecurity.Window, BlockFor: cfg.SIPSecurity.BlockFor},
		MinSE: cfg.RTP.MinSE, MaxSetups: cfg.Limits.CallsInSetup, SetupTarget: cfg.Limits.SetupLatencyTarget,
	}
	if cfg.RTP.Timeout != nil {
		ecfg.RTPTimeout = *cfg.RTP.Timeout
	}
	if cfg.RTP.SessionExpires != nil {
		ecfg.SessionExpires = *cfg.RTP.SessionExpires
	}
	if cfg.Listen.AdvertiseIP != "" {
		if ecfg.AdvertiseIP, err = netip.ParseAddr(cfg.Listen.AdvertiseIP); err != nil {
			return nil, fmt.Errorf("listen.advertise_ip: %w", err)
		}
	}
	var users []auth.User
	var keys []auth.APIKey
	for _, t := range cfg.Tenants {
		qa := t.QualityAlarms
		et := sipengine.Tenant{Name: t.Name, Domain: t.Domain, AlarmsOff: qa.Disabled, Alarms: media.AlarmThresholds{
			MinMOS: qa.MinMOS, MaxLoss: qa.MaxLossPercent / 100, MaxJitterMs: qa.MaxJitterMs, OneWayAfter: qa.OneWayAfter, Window: qa.Window}}
		for _, x := range t.Extensions {
			ha1 := x.HA1
			if ha1 == "" {
				ha1 = sipengine.HA1(x.Number, t.Domain, x.Password)
			}
			et.Extensions = append(et.Extensions, sipengine.Extension{Number: x.Number, Name: x.Name, HA1: ha1})
		}
		for _, tr := range t.Trunks {
			addr := tr.Address
			if addr == "" && n.pstn != nil {
				addr = n.pstn.Addr().String()
			}
			et.Trunks = append(et.Trunks, sipengine.Trunk{Name: tr.Name, Address: addr, Transport: tr.Transport,
				Username: tr.Username, Password: tr.Password, Prefix: tr.Prefix, Strip: tr.Strip, CallerID: tr.CallerID,
				DIDs: tr.DIDs, AllowTransit: tr.AllowTransit, InboundSecretHeader: tr.InboundSecretHeader, InboundSecret: tr.InboundSecret})
		}
		for _, cf := range t.Conferences {
			et.Conferences = append(et.Conferences, sipengine.Conference{Name: cf.Name, Number: cf.Number})
		}
		ecfg.Tenants = append(ecfg.Tenants, et)
		for _, u := range t.Users {
			allow, _ := config.ParsePrefixes(u.AllowFrom) // validated at load
			users = append(users, auth.User{Tenant: t.Name, Name: u.Name, Password: u.Password, PasswordHash: u.PasswordHash, Role: u.Role,
				Extension: u.Extension, AllowFrom: allow, Rights: config.RightsFor(t, u.Role, u.Deny), Disabled: u.Disabled, CallerIDs: u.CallerIDs})
		}
		for _, k := range t.APIKeys {
			allow, _ := config.ParsePrefixes(k.AllowFrom)
			keys = append(keys, auth.APIKey{Tenant: t.Name, Name: k.Name, Key: k.Key, KeySHA256: k.KeySHA256, Role: k.Role,
				AllowFrom: allow, Rights: config.RightsFor(t, k.Role, k.Deny), CallerIDs: k.CallerIDs})
		}
	}
	if *cfg.Capture.Enabled {
		ecfg.Capture = sipengine.CaptureConfig{Dir: cfg.Capture.Dir, RTP: *cfg.Capture.RTP}
	}
	httpHost, _, _ := net.SplitHostPort(cfg.Listen.HTTP)
	tc, err := tlsConfig(cfg.Listen.TLSCert, cfg.Listen.TLSKey, cfg.Listen.TLSSelfSigned, cfg.DataDir, []string{httpHost, cfg.Listen.AdvertiseIP})
	if err != nil {
		return nil, err
	}
	if cfg.Listen.SIPTLS != "" {
		ecfg.TLSListen, ecfg.TLS = cfg.Listen.SIPTLS, tc
	}
	n.eng, err = sipengine.New(n.core, ecfg)
	if err != nil {
		return nil, err
	}
	n.core.SetEngine(n.eng) // the node wires them; the engine never attaches itself
	if err := n.eng.Start(ctx); err != nil {
		return nil, err
	}

	tenantAllow := map[string][]netip.Prefix{}
	for _, t := range cfg.Tenants {
		tenantAllow[t.Name], _ = config.ParsePrefixes(t.AllowFrom)
	}
	authDir, err := auth.NewDirectory(users, keys, tenantAllow)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	authDir.SetAccounts(n.store)
	for _, t := range cfg.Tenants {
		if l := t.LDAP; l != nil {
			authDir.SetLDAP(t.Name, auth.LDAPConfig{URL: l.URL, UserDN: l.UserDN, GroupBase: l.GroupBase, RoleGroups: l.RoleGroups,
				DefaultRole: l.DefaultRole, StartTLS: l.StartTLS, Timeout: l.Timeout})
		}
	}
	var hooks []webhook.Hook
	for _, t := range cfg.Tenants {
		for _, h := range t.Webhooks {
			hooks = append(hooks, webhook.Hook{Tenant: t.Name, Name: h.Name, URL: h.URL, Secret: h.Secret, Events: h.Events})
		}
	}
	n.hooks = webhook.Start(n.core, hooks, n.store, webhook.Options{Logger: n.log, Encode: native.EncodeEvent,
		Attempts: opts.WebhookAttempts, FirstDelay: opts.WebhookFirstDelay})
	n.audit = audit.Start(n.store, n.log)
	authDir.SetLimiter(auth.NewLimiter(cfg.API.MaxBadLoginAttempt, cfg.API.Lockout, nil))
	if n.relays, err = buildRelays(cfg, n.store, n.core, n.log); err != nil {
		return nil, err
	}
	if n.doors, err = devices.StartDoorTriggers(n.core, n.relays, n.audit, doorTriggers(cfg), n.log); err != nil {
		return nil, err
	}
	cameras, err := buildCameras(cfg)
	if err != nil {
		return nil, err
	}
	n.camRec = devices.NewRecorder(cameras, n.arts, n.core, n.log)
	if n.sms, err = buildSMS(cfg, n.store, n.store, n.core, n.eng, n.log); err != nil {
		return nil, err
	}
	if err := n.sms.Start(ctx); err != nil {
		return nil, err
	}
	deps := dialect.Deps{
		Service: dialect.NewService(n.core).WithRelays(n.relays).WithCameras(cameras).WithCameraRecorder(n.camRec, n.arts).
			WithCallerIDs(tenantCallerIDs(cfg)).WithIdempotency(n.store).WithSMS(n.sms).
			WithSMSLimits(cfg.Limits.SMSPerMinuteTenant, cfg.Limits.SMSPerMinuteUser).
			WithDossiers(dossier.Sources{Events: n.store.CallEvents, Decode: eventlog.Decode, CDRs: n.callCDRs, Live: n.core.FindCall}),
		Gate: &dialect.Gate{Auth: authDir, Limiter: authDir.Limiter(), Sessions: auth.NewSessions(cfg.API.SessionIdle, cfg.API.SessionMax, n.store, nil),
			Connectable: dialect.AnyTenantAllows(tenantAllow)},
		Events:              dialect.NewEvents(n.core, n.elog),
		CDRs:                n.store,
		QueueStats:          n.store,
		Artifacts:           n.arts,
		Accounts:            n.store,
		Audit:               n.audit,
		Webhooks:            n.hooks,
		Now:                 time.Now,
		StreamsPerPrincipal: cfg.Limits.StreamsPerUser,
	}
	n.svc = deps.Service
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		st := n.eng.Stats()
		h := n.core.LimitHits()
		fmt.Fprintf(w, `{"status":"ok","active_calls":%d,"registrations":%d,"rtp_ports_in_use":%d,`+
			`"limit_hits":{"calls_per_tenant":%d,"calls_per_user":%d,"originates_per_minute_tenant":%d,"originates_per_minute_user":%d,"streams_per_user":%d}}`+"\n",
			st.ActiveCalls, st.Registrations, st.RTPPortsInUse, h.TenantCalls, h.OwnerCalls, h.TenantOriginateRate, h.OwnerOriginateRate, n.streamLimitHits())
	})
	// Gateways' delivery reports for the http SMS driver.
	mux.Handle("POST "+sms.CallbackPath+"{tenant}", n.sms.CallbackHandler())
	n.httpCtx, n.cancelHTTP = context.WithCancel(context.WithoutCancel(ctx))
	if err := n.startDialects(deps, opts.Dialects, mux, tc); err != nil {
		return nil, err
	}
	if err := n.startMetrics(ctx, mux); err != nil {
		return nil, err
	}
	front, err := n.withPanel(mux)
	if err != nil {
		return nil, err
	}
	n.ln, err = net.Listen("tcp", cfg.Listen.HTTP)
	if err != nil {
		return nil, fmt.Errorf("listen http: %w", err)
	}
	if tc != nil {
		n.ln = tls.NewListener(n.ln, tc)
		n.tls = true
	}
	n.http = n.httpServer(front)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.http.Serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http serve ended", "err", err)
		}
	}()

	n.startRetention(ctx)
	if cfg.Demo {
		if err := n.startBots(ctx, opts); err != nil {
			return nil, err
		}
	}
	n.log.Info("switchboard ready", "http", n.HTTPAddr().String(), "sip", n.SIPAddr().String(), "demo", cfg.Demo)
	return n, nil
}

// tenantCallerIDs are the outbound caller ids each tenant allows.
func tenantCallerIDs(cfg *config.Config) map[string][]string {
	m := map[string][]string{}
	for _, t := range cfg.Tenants {
		m[t.Name] = t.CallerIDs
	}
	return m
}

// recoverWindow is how far back start-up looks for calls a crash left
// without an end: calls longer than a day at the moment of a crash are
// not recovered.
const recoverWindow = 24 * time.Hour

// recoverCalls gives every call the event log shows started and never
// ended a CDR marked interrupted (unless its CDR was written and only the
// end event was lost).
func (n *Node) recoverCalls(ctx context.Context) (int, error) {
	open, err := eventlog.UnfinishedCalls(ctx, n.store, time.Now().Add(-recoverWindow))
	if err != nil {
		return 0, err
	}
	k := 0
	for _, u := range open {
		// A transferred call has a row per leg with the call's id; only a
		// row that is not a transfer's (hangup_by "transfer") is its last.
		rows, _, err := n.store.QueryCDRs(ctx, pbx.CDRFilter{Tenant: u.Call.Tenant, UniqueID: u.Call.ID})
		if err != nil {
			return k, err
		}
		done := false
		for _, r := range rows {
			if r.HangupBy != pbx.HangupTransfer {
				done = true
			} else if r.EndDate.After(u.Call.LegStart) {
				// The transfer's row is durable but its event was lost:
				// bill only what followed it.
				u.Call.LegStart = r.EndDate
			}
		}
		if done {
			continue
		}
		if _, err := n.core.RecordInterrupted(ctx, u.Call, u.Last); err != nil {
			n.log.Warn("interrupted call", "call_id", u.Call.ID, "tenant", u.Call.Tenant, "err", err)
			continue
		}
		k++
	}
	return k, nil
}

// bodyDeadline bounds how long reading one request may take (headers and
// body), so a client trickling a body a byte a minute holds a connection no
// longer than d. WebSocket upgrades are exempt: they read for as long as
// they are open, and answer pings instead.
func bodyDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		h.ServeHTTP(w, r)
	})
}

// retentionEvery is how often recordings and captures are swept.
const retentionEvery = time.Minute

// startRetention keeps recordings and captures within their configured
// age and size; the sweeper stops with the node.
func (n *Node) startRetention(ctx context.Context) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancelRetention = cancel
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.arts.RunRetention(rctx, retentionEvery,
			artifacts.Policy{MaxAge: n.cfg.Recording.MaxAge, MaxBytes: int64(n.cfg.Recording.MaxBytes)},
			artifacts.Policy{MaxAge: n.cfg.Capture.MaxAge, MaxBytes: int64(n.cfg.Capture.MaxBytes)},
			func(path string) { n.log.Info("retention deleted", "path", path) })
	}()
}

func (n *Node) startBots(ctx context.Context, opts Options) error {
	t := n.cfg.Tenants[0]
	fc := demobot.FarmConfig{PBX: n.eng.Addr(), Domain: t.Domain, ListenIP: n.eng.Addr().Addr(), Ports: n.botPorts, Logger: n.log}
	if opts.DemoAnswerDelay > 0 {
		fc.AnswerDelay = opts.DemoAnswerDelay
	}
	var err error
	n.farm, err = demobot.NewFarm(fc)
	if err != nil {
		return fmt.Errorf("demo bots: %w", err)
	}
	var bots []string
	for _, x := range t.Extensions {
		if x.Bot {
			n.farm.Add(x.Number, x.Password)
			bots = append(bots, x.Number)
		}
	}
	if err := n.farm.Start(ctx); err != nil {
		return fmt.Errorf("demo bots: %w", err)
	}
	if opts.DemoTraffic > 0 {
		bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		n.cancelBot = cancel
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			lo, hi := opts.DemoHoldMin, opts.DemoHoldMax
			if lo <= 0 {
				lo, hi = 5*time.Second, 30*time.Second
			}
			n.farm.RandomTraffic(bctx, opts.DemoTraffic, lo, max(lo, hi))
		}()
	}
	n.log.Info("demo bots registered", "count", len(bots))
	return nil
}

// TLS reports whether the HTTP API is served over TLS.
func (n *Node) TLS() bool { return n.tls }

// HTTPAddr is the bound HTTP address.
func (n *Node) HTTPAddr() netip.AddrPort {
	if n.ln == nil {
		return netip.AddrPort{}
	}
	return n.ln.Addr().(*net.TCPAddr).AddrPort()
}

// SIPAddr is the bound SIP address.
func (n *Node) SIPAddr() netip.AddrPort { return n.eng.Addr() }

// Core exposes the domain core to in-process tests.
func (n *Node) Core() *pbx.Core { return n.core }

// Engine exposes the SIP engine to in-process tests and benchmarks.
func (n *Node) Engine() *sipengine.Engine { return n.eng }

// Close shuts down gracefully: bots stop, calls are hung up and get their
// CDRs, then listeners and the store close.
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		var errs []error
		if n.cancelBot != nil {
			n.cancelBot()
		}
		if n.cancelRetention != nil {
			n.cancelRetention()
		}
		if n.core != nil {
			n.core.AnnounceShutdown()
		}
		if n.sms != nil {
			// Before the engine: a MESSAGE in flight is abandoned, not
			// failed; queued messages wait in the store for the next start.
			errs = append(errs, n.sms.Close())
		}
		if n.eng != nil {
			n.eng.HangupAll(ctx) // calls end as "system", before the bots go
		}
		if n.farm != nil {
			errs = append(errs, n.farm.Close())
		}
		if n.eng != nil {
			errs = append(errs, n.eng.Close(ctx))
		}
		if n.pstn != nil {
			errs = append(errs, n.pstn.Close())
		}
		if n.cancelHTTP != nil {
			n.cancelHTTP() // long responses (event streams, camera streams) end now
		}
		if n.http != nil {
			errs = append(errs, n.http.Shutdown(ctx))
		}
		errs = append(errs, n.closeDialects(ctx))
		errs = append(errs, n.closeMetrics(ctx))
		if n.camRec != nil {
			errs = append(errs, n.camRec.Close()) // recordings end with complete files
		}
		if n.doors != nil {
			n.doors.Close() // before the relays: no code opens a door any more
		}
		if n.relays != nil {
			errs = append(errs, n.relays.Close()) // pending door pulses switch off
		}
		if n.core != nil {
			n.core.Close()
		}
		if n.elog != nil {
			n.elog.Close() // drained: every event of this run is logged
		}
		if n.hooks != nil {
			n.hooks.Close() // undelivered events become dead letters
		}
		if n.audit != nil {
			n.audit.Close() // after the HTTP server: no request records any more
		}
		n.wg.Wait()
		if n.store != nil {
			errs = append(errs, n.store.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// callCDRs are the CDR rows of one call, for its dossier.
func (n *Node) callCDRs(ctx context.Context, tenant, callID string) ([]pbx.CDR, error) {
	rows, _, err := n.store.QueryCDRs(ctx, pbx.CDRFilter{Tenant: tenant, UniqueID: callID, Limit: 100})
	return rows, err
}
