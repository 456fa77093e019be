// Command switchboard runs the PBX. It only parses flags, loads the
// configuration, wires a node and waits for signals; everything else lives
// under internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // tenants' time zones work on hosts without a zoneinfo database

	"github.com/switchboard-pbx/switchboard/internal/admincli"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/node"
	"github.com/switchboard-pbx/switchboard/internal/sipengine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "switchboard", versionString())
		return 0
	case "config":
		if len(args) == 3 && args[1] == "check" {
			return configCheck(args[2], stdout, stderr)
		}
		fmt.Fprintln(stderr, "usage: switchboard config check FILE")
		return 2
	case "user", "key":
		return admincli.Run(args[0], args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "switchboard: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: switchboard <command> [flags]

commands:
  serve [--config FILE] [--demo] [--http ADDR] [--sip ADDR] [--data DIR] [--demo-traffic N] [--tls-self-signed] [--pprof ADDR]
  config check FILE     validate a configuration file and explain every error
  user add|passwd|list  manage API users in the database (password on standard input)
  key create|revoke|list
                        manage API keys in the database (a new key is printed once)
  version               print the version
`)
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

func configCheck(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !cfg.Demo {
		if err := cfg.CheckProduction(); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "%s: ok (%d tenants)\n", path, len(cfg.Tenants))
	return 0
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	demo := fs.Bool("demo", false, "run the demo PBX: bot phones, simulated carrier, example directory; binds to loopback")
	httpAddr := fs.String("http", "", "HTTP API listen address (overrides the file)")
	sipAddr := fs.String("sip", "", "SIP listen address, UDP and TCP (overrides the file)")
	dataDir := fs.String("data", "", "data directory for the database and recordings (overrides the file)")
	traffic := fs.Float64("demo-traffic", 0, "demo only: random calls per minute placed by the bots")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	selfSigned := fs.Bool("tls-self-signed", false, "serve the HTTP API over TLS with a certificate generated into the data directory")
	pprofAddr := fs.String("pprof", "", "serve Go's pprof profiles on this loopback address (for diagnosing load; off by default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "switchboard: --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	var cfg *config.Config
	var err error
	switch {
	case *cfgPath != "":
		cfg, err = config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *demo {
			cfg.Demo = true
		}
	case *demo:
		cfg = config.Demo()
	default:
		fmt.Fprintln(stderr, "switchboard: serve needs --config FILE or --demo")
		return 2
	}
	if *selfSigned && cfg.Listen.TLSCert == "" {
		cfg.Listen.TLSSelfSigned = true
	}
	if *httpAddr != "" {
		cfg.Listen.HTTP = *httpAddr
	}
	if *sipAddr != "" {
		cfg.Listen.SIP = *sipAddr
	}
	if *dataDir != "" {
		cfg.SetDataDir(*dataDir)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !cfg.Demo {
		if err := cfg.CheckProduction(); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if *traffic > 0 && !cfg.Demo {
		fmt.Fprintln(stderr, "switchboard: --demo-traffic needs --demo")
		return 2
	}

	sipengine.SetTransactionLinger(cfg.Limits.TransactionLinger) // process-wide, before the engine starts

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *pprofAddr != "" {
		closeProf, err := servePprof(*pprofAddr)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard: --pprof:", err)
			return 2
		}
		defer closeProf()
	}
	n, err := node.Start(ctx, cfg, node.Options{Logger: log, DemoTraffic: *traffic})
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	if cfg.Demo {
		printDemo(stdout, n, cfg)
	}
	<-ctx.Done()
	log.Info("shutting down: hanging up calls")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Close(sctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

func printDemo(w io.Writer, n *node.Node, cfg *config.Config) {
	t := cfg.Tenants[0]
	fmt.Fprintf(w, `switchboard demo is running (loopback only)
  HTTP API   http://%s/api/v1   (user admin / password admin, or: Authorization: Bearer MyExampleKey)
  SIP        %s udp+tcp, domain %s
  phones     register 2001..2004 with password "demo"; bots answer on 12, 13, 42, 43, 101, 105, 130, 200, 1001-1004, 1222
  carrier    any other number; numbers ending 486 busy, 408 no answer, 404 congestion, 480 unavailable
try:
  curl -u admin:admin http://%s/api/v1/extensions
  curl -u admin:admin -X POST -d '{"from":"1004","to":"1001"}' http://%s/api/v1/calls
`, n.HTTPAddr(), n.SIPAddr(), t.Domain, n.HTTPAddr(), n.HTTPAddr())
	if n.TLS() {
		fmt.Fprintf(w, "  TLS: the API is https://%s (self-signed: curl --cacert %s/tls-selfsigned.crt)\n", n.HTTPAddr(), cfg.DataDir)
	}
}

// servePprof exposes net/http/pprof on a loopback address only: profiles
// reveal internals and cost CPU, so they never face the network.
func servePprof(addr string) (func(), error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("%q must be a loopback address with a port", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
