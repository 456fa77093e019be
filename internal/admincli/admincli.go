// Package admincli implements the operator commands that work on the
// configured database directly: `switchboard user add|passwd|list` and
// `switchboard key create|revoke|list`. They run beside a live server
// (SQLite allows it), so an operator locked out of the API can always get
// back in from the host.
package admincli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// Run executes one command; args start after "user" or "key".
func Run(what string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(what, stderr)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet(what+" "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (finds the database and the tenant)")
	dataDir := fs.String("data", "", "data directory holding switchboard.db (instead of --config)")
	tenant := fs.String("tenant", "", "tenant (default: the configuration's only tenant)")
	role := fs.String("role", "", "role: readonly, user, agent, supervisor, admin")
	ext := fs.String("extension", "", "the user's own extension")
	expires := fs.Duration("expires", 0, "key lifetime, e.g. 720h, at most 87600h (10 years) (default: never)")
	allow := fs.String("allow-from", "", "comma-separated CIDRs the key may be used from")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, tn, err := open(ctx, *cfgPath, *dataDir, *tenant)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	defer st.Close()
	rest := fs.Args()
	now := time.Now()
	switch what + " " + verb {
	case "user add", "user passwd":
		if len(rest) != 1 {
			fmt.Fprintf(stderr, "usage: switchboard %s %s [flags] NAME  (password on standard input)\n", what, verb)
			return 2
		}
		pw, err := readPassword(stdin)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		if verb == "add" {
			r := *role
			if r == "" {
				r = "user"
			}
			err = auth.CreateUser(ctx, st, tn, rest[0], pw, r, *ext, now)
		} else {
			err = auth.ChangePassword(ctx, st, tn, rest[0], pw, now)
		}
		if err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		fmt.Fprintf(stdout, "user %s of tenant %s saved\n", rest[0], tn)
		return 0
	case "user list":
		us, err := st.ListUsers(ctx, tn)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tEXTENSION\tPASSWORD CHANGED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Extension, u.Changed.Format(time.RFC3339))
		}
		tw.Flush()
		return 0
	case "key create":
		if len(rest) != 1 {
			fmt.Fprintln(stderr, "usage: switchboard key create [flags] NAME")
			return 2
		}
		r := *role
		if r == "" {
			r = "readonly"
		}
		var list []string
		if *allow != "" {
			list = strings.Split(*allow, ",")
		}
		prefixes, err := auth.ParsePrefixes(list)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard: --allow-from:", err)
			return 2
		}
		key, k, err := auth.CreateKey(ctx, st, tn, rest[0], r, *expires, prefixes, now)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		fmt.Fprintf(stderr, "key %d (%s, role %s) created; it is shown once, store it now:\n", k.ID, k.Name, k.Role)
		fmt.Fprintln(stdout, key)
		return 0
	case "key list":
		ks, err := st.ListKeys(ctx, tn)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tROLE\tEXPIRES\tREVOKED\tLAST USED")
		for _, k := range ks {
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.Role, when(k.Expires), when(k.Revoked), when(k.LastUsed))
		}
		tw.Flush()
		return 0
	case "key revoke":
		if len(rest) != 1 {
			fmt.Fprintln(stderr, "usage: switchboard key revoke [flags] ID")
			return 2
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard: ID must be a number (see key list)")
			return 2
		}
		if err := st.RevokeKey(ctx, tn, id, now); err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		fmt.Fprintf(stdout, "key %d revoked\n", id)
		return 0
	}
	usage(what, stderr)
	return 2
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func usage(what string, w io.Writer) {
	if what == "user" {
		fmt.Fprintln(w, "usage: switchboard user add|passwd|list [--config FILE | --data DIR] [--tenant T] [--role R] [--extension N] [NAME]")
		return
	}
	fmt.Fprintln(w, "usage: switchboard key create|revoke|list [--config FILE | --data DIR] [--tenant T] [--role R] [--expires D] [--allow-from CIDRS] [NAME|ID]")
}

// open finds the database and the tenant from a config file or a data
// directory.
func open(ctx context.Context, cfgPath, dataDir, tenant string) (*sqlite.Store, string, error) {
	dbPath := ""
	switch {
	case cfgPath != "":
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return nil, "", err
		}
		dbPath = cfg.Database.Path
		if dbPath == "" {
			dbPath = filepath.Join(cfg.DataDir, "switchboard.db")
		}
		if tenant == "" {
			if len(cfg.Tenants) != 1 {
				return nil, "", errors.New("the configuration has several tenants: name one with --tenant")
			}
			tenant = cfg.Tenants[0].Name
		}
		found := false
		for _, t := range cfg.Tenants {
			found = found || t.Name == tenant
		}
		if !found {
			return nil, "", fmt.Errorf("tenant %q is not in %s", tenant, cfgPath)
		}
	case dataDir != "":
		dbPath = filepath.Join(dataDir, "switchboard.db")
		if tenant == "" {
			return nil, "", errors.New("--tenant is required with --data")
		}
	default:
		return nil, "", errors.New("give --config FILE or --data DIR")
	}
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{ReadConns: 1})
	if err != nil {
		return nil, "", err
	}
	return st, tenant, nil
}

// readPassword takes the first line of stdin: scripts pipe it in, and it
// never appears in the process list or shell history.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}
