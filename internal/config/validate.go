package config

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"slices"

	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ApplyDefaults fills every unset field with its documented default.
func (c *Config) ApplyDefaults() {
	if c.Listen.HTTP == "" {
		c.Listen.HTTP = "127.0.0.1:8080"
	}
	if c.Listen.SIP == "" {
		c.Listen.SIP = "127.0.0.1:5060"
	}
	if len(c.Listen.SIPTransports) == 0 {
		c.Listen.SIPTransports = []string{"udp", "tcp"}
	}
	if c.RTP.PortMin == 0 && c.RTP.PortMax == 0 {
		c.RTP.PortMin, c.RTP.PortMax = 10000, 20000
	}
	if c.RTP.Drain == 0 {
		c.RTP.Drain = 5 * time.Second
	}
	if c.RTP.Timeout == nil {
		d := 60 * time.Second
		c.RTP.Timeout = &d
	}
	if c.RTP.SessionExpires == nil {
		d := 30 * time.Minute
		c.RTP.SessionExpires = &d
	}
	if c.RTP.MinSE == 0 {
		c.RTP.MinSE = 90 * time.Second
	}
	if c.Database.Driver == "" {
		c.Database.Driver = "sqlite"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.Database.Path == "" {
		c.Database.Path = filepath.Join(c.DataDir, "switchboard.db")
	}
	if c.Capture.Dir == "" {
		c.Capture.Dir = filepath.Join(c.DataDir, "captures")
	}
	if c.Capture.Enabled == nil {
		t := true
		c.Capture.Enabled = &t
	}
	if c.Capture.RTP == nil {
		t := true
		c.Capture.RTP = &t
	}
	if c.Capture.MaxAge == 0 {
		c.Capture.MaxAge = 7 * 24 * time.Hour
	}
	if c.Capture.MaxBytes == 0 {
		c.Capture.MaxBytes = 2 << 30
	}
	if c.Recording.Dir == "" {
		c.Recording.Dir = filepath.Join(c.DataDir, "recordings")
	}
	if c.Limits.HTTPBodyTimeout == 0 {
		c.Limits.HTTPBodyTimeout = 30 * time.Second
	}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		if t.Domain == "" && t.Name != "" {
			t.Domain = strings.ToLower(t.Name) + ".local"
		}
		for j := range t.Users {
			if t.Users[j].Role == "" {
				t.Users[j].Role = "user"
			}
		}
		for j := range t.APIKeys {
			if t.APIKeys[j].Role == "" {
				t.APIKeys[j].Role = "admin"
			}
		}
		for j := range t.Queues {
			if t.Queues[j].Strategy == "" {
				t.Queues[j].Strategy = "ringall"
			}
			if t.Queues[j].Retry == 0 {
				t.Queues[j].Retry = 5 * time.Second
			}
			if t.Queues[j].JoinEmpty == nil {
				yes := true
				t.Queues[j].JoinEmpty = &yes
			}
			if t.Queues[j].RingTimeout == 0 {
				t.Queues[j].RingTimeout = 15 * time.Second
			}
		}
		for j := range t.Trunks {
			if t.Trunks[j].Transport == "" {
				t.Trunks[j].Transport = "udp"
			}
		}
	}
}

var (
	reTenant  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	reNumber  = regexp.MustCompile(`^[0-9]{1,15}$`)
	reDomain  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
	reHex32   = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
	reDialect = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)
	// reOptionName: a dialect option's name (dialects.<name>.options).
	reOptionName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	reHex64      = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	roles        = map[string]bool{"admin": true, "supervisor": true, "agent": true, "user": true, "readonly": true}
	strats       = map[string]bool{"ringall": true, "leastrecent": true, "fewestcalls": true, "rrmemory": true, "random": true, "linear": true}
)

// reHeaderName is a SIP header name a trunk's shared secret may travel in.
var reHeaderName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)

// errs collects validation errors with their positions.
type errs struct {
	c    *Config
	list []error
}

func (e *errs) add(path, format string, args ...any) {
	// A missing field has no position: point at its nearest parent.
	p, ok := e.c.pos[path]
	for parent := path; !ok && parent != ""; {
		i := strings.LastIndexAny(parent, ".[")
		if i < 0 {
			parent = ""
		} else {
			parent = parent[:i]
		}
		p, ok = e.c.pos[parent]
	}
	name := e.c.name
	if name == "" {
		name = "config"
	}
	msg := fmt.Sprintf(format, args...)
	if ok && p.line > 0 {
		e.list = append(e.list, fmt.Errorf("%s:%d:%d: %s: %s", name, p.line, p.col, e.fieldPath(path), msg))
	} else {
		e.list = append(e.list, fmt.Errorf("%s: %s: %s", name, e.fieldPath(path), msg))
	}
}

func (e *errs) fieldPath(p string) string {
	if p == "" {
		return "(top level)"
	}
	return p
}

func idx(path string, i int, field string) string {
	return path + "[" + strconv.Itoa(i) + "]." + field
}

// Validate checks the whole tree and returns every problem at once.
func (c *Config) Validate() error {
	if c.pos == nil {
		c.pos = map[string]pos{}
	}
	e := &errs{c: c}
	sip, err := netip.ParseAddrPort(c.Listen.SIP)
	if err != nil {
		e.add("listen.sip", "%q is not an IP:port", c.Listen.SIP)
	}
	if _, err := netip.ParseAddrPort(c.Listen.HTTP); err != nil {
		e.add("listen.http", "%q is not an IP:port", c.Listen.HTTP)
	}
	hasUDP := false
	for i, tr := range c.Listen.SIPTransports {
		switch tr {
		case "udp":
			hasUDP = true
		case "tcp":
		default:
			e.add("listen.sip_transports["+strconv.Itoa(i)+"]", "%q is not a transport (udp, tcp)", tr)
		}
	}
	if !hasUDP {
		e.add("listen.sip_transports", "udp is required")
	}
	if c.Listen.AdvertiseIP != "" {
		if ip, err := netip.ParseAddr(c.Listen.AdvertiseIP); err != nil || ip.IsUnspecified() {
			e.add("listen.advertise_ip", "%q is not a usable IP address", c.Listen.AdvertiseIP)
		}
	} else if err == nil && sip.Addr().IsUnspecified() {
		e.add("listen.advertise_ip", "required when listen.sip is a wildcard address (phones need an address to send to)")
	}
	if c.RTP.IP != "" {
		if _, err := netip.ParseAddr(c.RTP.IP); err != nil {
			e.add("rtp.ip", "%q is not an IP address", c.RTP.IP)
		}
	}
	switch {
	case c.RTP.PortMin%2 != 0:
		e.add("rtp.port_min", "%d must be even (RTP on even ports, RTCP on odd)", c.RTP.PortMin)
	case c.RTP.PortMin < 1024 || c.RTP.PortMax > 65535:
		e.add("rtp.port_min", "range %d-%d must lie within 1024-65535", c.RTP.PortMin, c.RTP.PortMax)
	case c.RTP.PortMax <= c.RTP.PortMin:
		e.add("rtp.port_max", "%d must be greater than port_min %d", c.RTP.PortMax, c.RTP.PortMin)
	}
	if c.RTP.Drain < 0 {
		e.add("rtp.drain", "must not be negative")
	}
	if d := c.RTP.Timeout; d != nil && (*d < 0 || *d > 0 && *d < time.Second) {
		e.add("rtp.timeout", "%v: must be 0 (off) or at least 1s (write a unit: 60s)", *d)
	}
	if d := c.RTP.SessionExpires; d != nil && (*d < 0 || *d > 0 && *d < c.RTP.MinSE) {
		e.add("rtp.session_expires", "%v: must be 0 (off) or at least min_se (%v)", *d, c.RTP.MinSE)
	}
	if c.RTP.MinSE < 90*time.Second {
		e.add("rtp.min_se", "%v: RFC 4028 allows no less than 90s", c.RTP.MinSE)
	}
	if (c.Listen.TLSCert == "") != (c.Listen.TLSKey == "") {
		e.add("listen.tls_cert", "tls_cert and tls_key go together")
	}
	if c.Listen.SIPTLS != "" && c.Listen.TLSCert == "" && !c.Listen.TLSSelfSigned {
		e.add("listen.sip_tls", "needs a certificate: tls_cert and tls_key, or tls_self_signed")
	}
	if c.Listen.TLSSelfSigned && c.Listen.TLSCert != "" {
		e.add("listen.tls_self_signed", "choose a certificate file or a self-signed one, not both")
	}
	if c.Metrics.Listen != "" {
		if _, err := netip.ParseAddrPort(c.Metrics.Listen); err != nil {
			e.add("metrics.listen", "%q is not an IP:port", c.Metrics.Listen)
		} else if c.Metrics.Listen == c.Listen.HTTP {
			e.add("metrics.listen", "must differ from listen.http (set metrics.token to serve /metrics there)")
		}
	}
	if c.Recording.MaxAge < 0 {
		e.add("recording.max_age", "must not be negative")
	}
	if c.Capture.MaxAge < 0 {
		e.add("capture.max_age", "must not be negative")
	}
	switch c.Database.Driver {
	case "sqlite":
	case "postgres":
		e.add("database.driver", "postgres is not yet supported (scale-out comes later); use sqlite")
	default:
		e.add("database.driver", "%q is not a database driver (sqlite)", c.Database.Driver)
	}
	if len(c.Tenants) == 0 {
		e.add("tenants", "at least one tenant is required")
	}
	for k, v := range map[string]int{"calls_per_tenant": c.Limits.CallsPerTenant, "calls_per_user": c.Limits.CallsPerUser,
		"originates_per_minute_tenant": c.Limits.OriginatesPerMinuteTenant, "originates_per_minute_user": c.Limits.OriginatesPerMinuteUser,
		"streams_per_user": c.Limits.StreamsPerUser, "sms_per_minute_tenant": c.Limits.SMSPerMinuteTenant,
		"sms_per_minute_user": c.Limits.SMSPerMinuteUser} {
		if v < -1 || v > 1_000_000 {
			e.add("limits."+k, "%d must be -1 (no limit), 0 (default) or a positive count up to 1000000", v)
		}
	}
	if g := c.SIPSecurity; g.AddressFailures < -1 || g.ExtensionFailures < 0 || g.Window < 0 || g.BlockFor < 0 || g.BlockFor > 24*time.Hour {
		e.add("sip_security", "failures must be -1 (off), 0 (default) or positive; window and block_for 0-24h")
	}
	if c.Limits.HTTPBodyTimeout < 0 || c.Limits.HTTPBodyTimeout > time.Hour {
		e.add("limits.http_body_timeout", "must be between 0 and 1h")
	}
	if c.Limits.CallsInSetup < 0 || c.Limits.CallsInSetup > 1_000_000 {
		e.add("limits.calls_in_setup", "%d must be 0 (default 2000) or a positive count up to 1000000", c.Limits.CallsInSetup)
	}
	if c.Limits.TransactionLinger == 0 {
		c.Limits.TransactionLinger = 5 * time.Second
	}
	if t := c.Limits.TransactionLinger; t < time.Second || t > 32*time.Second {
		e.add("limits.transaction_linger", "%v must be 0 (default 5s) or between 1s and 32s", t)
	}
	if t := c.Limits.SetupLatencyTarget; t != 0 && (t < 10*time.Millisecond || t > 10*time.Second) {
		e.add("limits.setup_latency_target", "%v must be 0 (default 200ms) or between 10ms and 10s", t)
	}
	for name, d := range c.Dialects {
		if !reDialect.MatchString(name) {
			e.add("dialects."+name, "%q is not a dialect name (lowercase letters and digits)", name)
		}
		if d.Listen != "" {
			if _, err := netip.ParseAddrPort(d.Listen); err != nil {
				e.add("dialects."+name+".listen", "%q is not an IP:port", d.Listen)
			}
		}
		if d.Prefix != "" && (!strings.HasPrefix(d.Prefix, "/") || strings.HasSuffix(d.Prefix, "/") || strings.ContainsAny(d.Prefix, " ?#{}") || strings.Contains(d.Prefix, "..")) {
			e.add("dialects."+name+".prefix", "%q must start with / and not end with one (e.g. /demo)", d.Prefix)
		}
		validateDialectOptions(e, "dialects."+name+".options", d.Options)
	}
	names, domains := map[string]bool{}, map[string]bool{}
	for i := range c.Tenants {
		c.validateTenant(e, i, names, domains)
	}
	c.validateSMS(e)
	c.validateAcrossTenants(e)
	return errors.Join(e.list...)
}

// validateDialectOptions checks the shape of a dialect's options: a
// bounded number of names like "login_timeout" with printable values of
// bounded length. What they mean is the dialect's to check at start.
func validateDialectOptions(e *errs, at string, opts map[string]string) {
	if len(opts) > MaxDialectOptions {
		e.add(at, "%d options; at most %d", len(opts), MaxDialectOptions)
	}
	names := make([]string, 0, len(opts))
	for k := range opts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !reOptionName.MatchString(k) {
			e.add(at, "%q is not an option name (lowercase letters, digits and _, up to 64)", k)
			continue
		}
		if v := opts[k]; len(v) > MaxDialectOptionLen || !printable(v) {
			e.add(at+"."+k, "must be printable text of at most %d bytes", MaxDialectOptionLen)
		}
	}
}

// printable: valid UTF-8 without control or other non-printing
// characters (spaces other than U+0020 included).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// validateAcrossTenants refuses what would make one tenant's credential
// or carrier silently belong to another: an API key configured in two
// tenants (the last one would win).
func (c *Config) validateAcrossTenants(e *errs) {
	// Trunks of two tenants at one carrier address must say which numbers
	// are whose: both list their DIDs, and no DID is in both. (The engine
	// also picks a tenant by the Request-URI domain, but whether a carrier
	// sends it cannot be checked here.)
	type trunkAt struct {
		path string
		dids []string
	}
	byAddr := map[string][]trunkAt{}
	for i, t := range c.Tenants {
		for j, tr := range t.Trunks {
			if tr.Address == "" {
				continue
			}
			p := strings.TrimSuffix(idx("tenants["+strconv.Itoa(i)+"].trunks", j, ""), ".")
			for _, other := range byAddr[tr.Address] {
				if !strings.HasPrefix(other.path, "tenants["+strconv.Itoa(i)+"]") && !disjointDIDs(tr.DIDs, other.dids) {
					e.add(p+".address", "%s is also the address of %s in another tenant: give both trunks dids, with no number in both", tr.Address, other.path)
				}
			}
			byAddr[tr.Address] = append(byAddr[tr.Address], trunkAt{p, tr.DIDs})
		}
	}

	keyAt := map[string]string{} // SHA-256 -> first path
	for i, t := range c.Tenants {
		for j, k := range t.APIKeys {
			sum := strings.ToLower(k.KeySHA256)
			if k.Key != "" {
				s := sha256.Sum256([]byte(k.Key))
				sum = hex.EncodeToString(s[:])
			}
			if sum == "" {
				continue
			}
			p := strings.TrimSuffix(idx("tenants["+strconv.Itoa(i)+"].api_keys", j, ""), ".")
			if first, dup := keyAt[sum]; dup {
				e.add(p, "the same key is already configured at %s: a key belongs to one tenant", first)
				continue
			}
			keyAt[sum] = p
		}
	}
}

// disjointDIDs: both lists are given and share no number.
func disjointDIDs(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return false
			}
		}
	}
	return true
}

func (c *Config) validateTenant(e *errs, i int, names, domains map[string]bool) {
	t := &c.Tenants[i]
	tp := "tenants[" + strconv.Itoa(i) + "]"
	if q := t.QualityAlarms; q.MinMOS < 0 || q.MinMOS > 4.5 || q.MaxLossPercent < 0 || q.MaxLossPercent > 100 ||
		q.MaxJitterMs < 0 || q.MaxJitterMs > 10000 || q.OneWayAfter < 0 || q.OneWayAfter > time.Hour || q.Window < 0 || q.Window > time.Hour {
		e.add(tp+".quality_alarms", "min_mos 0-4.5, max_loss_percent 0-100, max_jitter_ms 0-10000, one_way_after and window 0-1h")
	}
	if t.TimeZone != "" {
		if _, err := time.LoadLocation(t.TimeZone); err != nil {
			e.add(tp+".timezone", "%q is not an IANA time zone (e.g. Europe/Warsaw)", t.TimeZone)
		}
	}
	if !reTenant.MatchString(t.Name) {
		e.add(tp+".name", "%q must be 1-64 letters, digits, - or _", t.Name)
	} else if names[t.Name] {
		e.add(tp+".name", "tenant %q defined twice", t.Name)
	}
	names[t.Name] = true
	if !reDomain.MatchString(t.Domain) {
		e.add(tp+".domain", "%q is not a domain name", t.Domain)
	} else if domains[t.Domain] {
		e.add(tp+".domain", "domain %q used by two tenants", t.Domain)
	}
	domains[t.Domain] = true

	numbers := map[string]string{} // number -> what owns it
	claim := func(path, number, what string) {
		if prev, ok := numbers[number]; ok {
			e.add(path, "number %s already belongs to %s", number, prev)
			return
		}
		numbers[number] = what
	}
	exts := map[string]bool{}
	for j, x := range t.Extensions {
		p := idx(tp+".extensions", j, "")
		p = strings.TrimSuffix(p, ".")
		if !reNumber.MatchString(x.Number) {
			e.add(p+".number", "%q is not a number (1-15 digits)", x.Number)
		} else {
			claim(p+".number", x.Number, "extension "+x.Number)
			exts[x.Number] = true
		}
		switch {
		case x.Password == "" && x.HA1 == "":
			e.add(p, "password or ha1 is required")
		case x.Password != "" && x.HA1 != "":
			e.add(p+".ha1", "give password or ha1, not both")
		case x.HA1 != "" && !reHex32.MatchString(x.HA1):
			e.add(p+".ha1", "must be 32 hex digits (MD5 of number:domain:password)")
		}
	}
	users := map[string]bool{}
	for j, u := range t.Users {
		p := strings.TrimSuffix(idx(tp+".users", j, ""), ".")
		if u.Name == "" {
			e.add(p+".name", "required")
		} else if users[u.Name] {
			e.add(p+".name", "user %q defined twice", u.Name)
		} else if err := auth.ValidUserName(u.Name); err != nil {
			e.add(p+".name", "%v", err)
		}
		users[u.Name] = true
		switch {
		case u.Password == "" && u.PasswordHash == "":
			e.add(p, "password or password_hash is required")
		case u.Password != "" && u.PasswordHash != "":
			e.add(p+".password_hash", "give password or password_hash, not both")
		case u.PasswordHash != "" && !strings.HasPrefix(u.PasswordHash, "$argon2id$"):
			e.add(p+".password_hash", "must be an argon2id PHC string ($argon2id$...)")
		}
		if u.Extension != "" && !exts[u.Extension] {
			e.add(p+".extension", "%q is not an extension of tenant %s", u.Extension, t.Name)
		}
		if !roles[u.Role] && !customRole(*t, u.Role) {
			e.add(p+".role", "%q is not a role (admin, supervisor, agent, user, readonly, or one under roles)", u.Role)
		}
	}
	for j, k := range t.APIKeys {
		p := strings.TrimSuffix(idx(tp+".api_keys", j, ""), ".")
		if k.Name == "" {
			e.add(p+".name", "required")
		} else if err := auth.ValidKeyName(k.Name); err != nil {
			e.add(p+".name", "%v", err)
		}
		switch {
		case k.Key == "" && k.KeySHA256 == "":
			e.add(p, "key or key_sha256 is required")
		case k.Key != "" && k.KeySHA256 != "":
			e.add(p+".key_sha256", "give key or key_sha256, not both")
		case k.KeySHA256 != "" && !reHex64.MatchString(k.KeySHA256):
			e.add(p+".key_sha256", "must be 64 hex digits")
		}
		if !roles[k.Role] && !customRole(*t, k.Role) {
			e.add(p+".role", "%q is not a role", k.Role)
		}
	}
	for j, q := range t.Queues {
		p := strings.TrimSuffix(idx(tp+".queues", j, ""), ".")
		if q.Name == "" {
			e.add(p+".name", "required")
		}
		if !reNumber.MatchString(q.Number) {
			e.add(p+".number", "%q is not a number", q.Number)
		} else {
			claim(p+".number", q.Number, "queue "+q.Name)
		}
		if !strats[q.Strategy] {
			e.add(p+".strategy", "%q is not a strategy (ringall, leastrecent, fewestcalls, rrmemory, random, linear)", q.Strategy)
		}
		for m, entry := range q.Members {
			num, _, err := MemberPenalty(entry)
			if err != nil {
				e.add(p+".members["+strconv.Itoa(m)+"]", "%v", err)
			} else if !exts[num] {
				e.add(p+".members["+strconv.Itoa(m)+"]", "%q is not an extension of tenant %s", num, t.Name)
			}
		}
		if q.RingTimeout < 0 || q.MaxWait < 0 || q.Retry < 0 || q.WrapUp < 0 || q.Announce < 0 || q.MaxLen < 0 {
			e.add(p, "durations and max_len must not be negative")
		}
		if q.Overflow != "" && !reNumber.MatchString(q.Overflow) {
			e.add(p+".overflow", "%q is not a number", q.Overflow)
		}
	}
	if _, err := ParsePrefixes(t.AllowFrom); err != nil {
		e.add(tp+".allow_from", "%v", err)
	}
	for j, u := range t.Users {
		if _, err := ParsePrefixes(u.AllowFrom); err != nil {
			e.add(strings.TrimSuffix(idx(tp+".users", j, ""), ".")+".allow_from", "%v", err)
		}
	}
	for j, k := range t.APIKeys {
		if _, err := ParsePrefixes(k.AllowFrom); err != nil {
			e.add(strings.TrimSuffix(idx(tp+".api_keys", j, ""), ".")+".allow_from", "%v", err)
		}
	}
	validRight := map[string]bool{}
	for _, r := range auth.AllRights {
		validRight[r] = true
	}
	for j, r := range t.Roles {
		rp := strings.TrimSuffix(idx(tp+".roles", j, ""), ".")
		if r.Name == "" || auth.ValidRole(r.Name) {
			e.add(rp+".name", "required, and not a built-in role name")
		}
		if !auth.ValidRole(r.Base) {
			e.add(rp+".base", "%q is not a built-in role (%s)", r.Base, strings.Join(auth.Roles, ", "))
		}
		for _, x := range append(append([]string{}, r.Add...), r.Remove...) {
			if !validRight[x] {
				e.add(rp, "%q is not a right (%s)", x, strings.Join(auth.AllRights, ", "))
			}
		}
	}
	for j, u := range t.Users {
		for _, x := range u.Deny {
			if !validRight[x] {
				e.add(strings.TrimSuffix(idx(tp+".users", j, ""), ".")+".deny", "%q is not a right", x)
			}
		}
	}
	if l := t.LDAP; l != nil {
		lp := tp + ".ldap"
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
			e.add(lp+".url", "%q is not an ldap:// or ldaps:// URL", l.URL)
		}
		if !strings.Contains(l.UserDN, "{user}") {
			e.add(lp+".user_dn", "must contain {user} where the login name goes")
		}
		for g, r := range l.RoleGroups {
			if !auth.ValidRole(r) {
				e.add(lp+".role_groups."+g, "%q is not a role", r)
			}
		}
		if l.DefaultRole != "" && !auth.ValidRole(l.DefaultRole) {
			e.add(lp+".default_role", "%q is not a role", l.DefaultRole)
		}
	}
	hookNames := map[string]bool{}
	for j, h := range t.Webhooks {
		p := strings.TrimSuffix(idx(tp+".webhooks", j, ""), ".")
		if h.Name == "" || hookNames[h.Name] {
			e.add(p+".name", "required and unique within the tenant")
		}
		hookNames[h.Name] = true
		if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e.add(p+".url", "%q is not an http(s) URL", h.URL)
		}
		if len(h.Secret) < 16 {
			e.add(p+".secret", "must be at least 16 characters (it signs every delivery)")
		}
	}
	for j, cf := range t.Conferences {
		p := strings.TrimSuffix(idx(tp+".conferences", j, ""), ".")
		if cf.Name == "" {
			e.add(p+".name", "required")
		}
		if cf.Number != "" {
			if !reNumber.MatchString(cf.Number) {
				e.add(p+".number", "%q is not a number", cf.Number)
			} else {
				claim(p+".number", cf.Number, "conference "+cf.Name)
			}
		}
	}
	relayIDs := map[int]bool{}
	for j, r := range t.Relays {
		p := strings.TrimSuffix(idx(tp+".relays", j, ""), ".")
		if r.ID <= 0 || relayIDs[r.ID] {
			e.add(p+".id", "must be a unique positive number")
		}
		relayIDs[r.ID] = true
		if r.Pulse < 0 || r.Pulse > time.Minute {
			e.add(p+".pulse", "must be between 0 and 1m")
		}
		if r.DTMF.Digits != "" || len(r.DTMF.DoorPhones) > 0 {
			if d := r.DTMF.Digits; d == "" || len(d) > 16 || strings.Trim(d, "0123456789*#ABCD") != "" {
				e.add(p+".dtmf.digits", "%q must be 1-16 of 0-9 * # A-D", d)
			}
			if len(r.DTMF.DoorPhones) == 0 {
				e.add(p+".dtmf.door_phones", "name the door phones' extensions")
			}
			for k, x := range r.DTMF.DoorPhones {
				if !slices.ContainsFunc(t.Extensions, func(ex Extension) bool { return ex.Number == x }) {
					e.add(fmt.Sprintf("%s.dtmf.door_phones[%d]", p, k), "%q is not an extension of this tenant", x)
				}
			}
		}
		switch r.Driver {
		case "", "virtual":
		case "modbus":
			if _, err := netip.ParseAddrPort(r.Modbus.Address); err != nil {
				if _, _, herr := net.SplitHostPort(r.Modbus.Address); herr != nil {
					e.add(p+".modbus.address", "%q is not host:port", r.Modbus.Address)
				}
			}
		case "http":
			for k, u := range map[string]string{"on_url": r.HTTP.OnURL, "off_url": r.HTTP.OffURL, "status_url": r.HTTP.StatusURL} {
				if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
					e.add(p+".http."+k, "%q is not an http(s) URL", u)
				}
			}
			if (r.HTTP.StatePath == "") == (r.HTTP.StateRegex == "") {
				e.add(p+".http", "give state_path or state_regex")
			} else if r.HTTP.StateRegex != "" {
				if _, err := regexp.Compile(r.HTTP.StateRegex); err != nil {
					e.add(p+".http.state_regex", "%v", err)
				}
			}
		default:
			e.add(p+".driver", "%q is not a relay driver (virtual, modbus, http)", r.Driver)
		}
	}
	camIDs := map[int]bool{}
	camExts := map[string]bool{}
	for j, cm := range t.Cameras {
		p := strings.TrimSuffix(idx(tp+".cameras", j, ""), ".")
		if cm.ID <= 0 || camIDs[cm.ID] {
			e.add(p+".id", "must be a unique positive number")
		}
		camIDs[cm.ID] = true
		if cm.Extension != "" {
			if !slices.ContainsFunc(t.Extensions, func(x Extension) bool { return x.Number == cm.Extension }) {
				e.add(p+".extension", "%q is not an extension of this tenant", cm.Extension)
			} else if camExts[cm.Extension] {
				e.add(p+".extension", "extension %s has a camera already", cm.Extension)
			}
			camExts[cm.Extension] = true
		}
		switch cm.CameraDriver() {
		case "synthetic":
		case "http":
			for k, u := range map[string]string{"url": cm.URL, "stream_url": cm.StreamURL} {
				if u == "" && k == "stream_url" {
					continue // snapshots only
				}
				if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
					e.add(p+"."+k, "%q is not an http(s) URL", u)
				}
			}
		default:
			e.add(p+".driver", "%q is not a camera driver (synthetic, http)", cm.Driver)
		}
	}
	for j, tr := range t.Trunks {
		p := strings.TrimSuffix(idx(tp+".trunks", j, ""), ".")
		if tr.Name == "" {
			e.add(p+".name", "required")
		}
		validateRates(e, p, tr)
		if tr.Address == "" {
			if !c.Demo {
				e.add(p+".address", "required (host:port)")
			}
		} else if _, err := netip.ParseAddrPort(tr.Address); err != nil {
			e.add(p+".address", "%q is not an IP:port", tr.Address)
		}
		if tr.Transport != "udp" && tr.Transport != "tcp" {
			e.add(p+".transport", "%q is not udp or tcp", tr.Transport)
		}
		if tr.Prefix != "" && !reNumber.MatchString(tr.Prefix) {
			e.add(p+".prefix", "%q is not digits", tr.Prefix)
		}
		if tr.Strip < 0 || tr.Strip > 15 {
			e.add(p+".strip", "must be 0-15")
		}
		for k, d := range tr.DIDs {
			if !reNumber.MatchString(d) {
				e.add(fmt.Sprintf("%s.dids[%d]", p, k), "%q is not a number", d)
			}
		}
		if (tr.InboundSecretHeader == "") != (tr.InboundSecret == "") {
			e.add(p+".inbound_secret", "inbound_secret_header and inbound_secret go together")
		} else if tr.InboundSecretHeader != "" && !reHeaderName.MatchString(tr.InboundSecretHeader) {
			e.add(p+".inbound_secret_header", "%q is not a header name", tr.InboundSecretHeader)
		} else if strings.ContainsAny(tr.InboundSecret, "\r\n\x00") {
			e.add(p+".inbound_secret", "must not contain CR, LF or NUL")
		}
	}
}

// weakPasswords are refused outside demo mode: the demo's own, and the
// first ones every scanner tries.
var weakPasswords = map[string]bool{"admin": true, "demo": true, "viptel": true, "voipmonitor": true,
	"password": true, "1234": true, "12345678": true, "123456": true, "secret": true, "changeme": true, "MyExampleKey": true}

// CheckProduction refuses default and weak secrets. It names each
// offender, never the secret.
func (c *Config) CheckProduction() error {
	e := &errs{c: c}
	weak := func(secret, owner string) bool {
		return secret != "" && (weakPasswords[secret] || secret == owner || len(secret) < 8)
	}
	for i, t := range c.Tenants {
		tp := "tenants[" + strconv.Itoa(i) + "]"
		for j, x := range t.Extensions {
			if weak(x.Password, x.Number) {
				e.add(idx(tp+".extensions", j, "password"), "extension %s: default or weak password (at least 8 characters, not a well-known one, not the number)", x.Number)
			}
		}
		for j, u := range t.Users {
			if weak(u.Password, u.Name) {
				e.add(idx(tp+".users", j, "password"), "user %s: default or weak password", u.Name)
			}
		}
		for j, k := range t.APIKeys {
			if k.Key != "" && (weakPasswords[k.Key] || len(k.Key) < 16) {
				e.add(idx(tp+".api_keys", j, "key"), "api key %s: default or short key (at least 16 characters)", k.Name)
			}
		}
	}
	if k := c.Metrics.Token; k != "" && (weakPasswords[k] || len(k) < 16) {
		e.add("metrics.token", "default or short token (at least 16 characters)")
	}
	if len(e.list) > 0 {
		return fmt.Errorf("refusing to start outside demo mode:\n%w", errors.Join(e.list...))
	}
	return nil
}

// Tenant returns the tenant named name, or nil.
func (c *Config) Tenant(name string) *Tenant {
	for i := range c.Tenants {
		if c.Tenants[i].Name == name {
			return &c.Tenants[i]
		}
	}
	return nil
}

func customRole(t Tenant, name string) bool {
	for _, r := range t.Roles {
		if r.Name == name {
			return true
		}
	}
	return false
}

// SetDataDir moves the data directory and every path derived from it
// (database, recordings, captures) that still points into the old one; --data and tests use it, so
// nothing lands in the old directory.
func (c *Config) SetDataDir(dir string) {
	old := c.DataDir
	c.DataDir = dir
	if c.Database.Path == "" || c.Database.Path == filepath.Join(old, "switchboard.db") {
		c.Database.Path = ""
	}
	if c.Recording.Dir == filepath.Join(old, "recordings") {
		c.Recording.Dir = ""
	}
	if c.Capture.Dir == filepath.Join(old, "captures") {
		c.Capture.Dir = ""
	}
	c.ApplyDefaults()
}

// validateRates checks a trunk's rate table: digit prefixes (one of them
// may be empty: every other number), each once; a zone name; a price of
// 0 to 1,000,000 grosze a minute; an increment of 1s to 1h.
func validateRates(e *errs, p string, tr Trunk) {
	if tr.BillingIncrement != 0 && (tr.BillingIncrement < time.Second || tr.BillingIncrement > time.Hour || tr.BillingIncrement%time.Second != 0) {
		e.add(p+".billing_increment", "must be whole seconds between 1s and 1h")
	}
	seen := map[string]bool{}
	for k, r := range tr.Rates {
		rp := fmt.Sprintf("%s.rates[%d]", p, k)
		if len(r.Prefix) > 20 || strings.Trim(r.Prefix, "0123456789") != "" {
			e.add(rp+".prefix", "%q must be up to 20 digits", r.Prefix)
		} else if seen[r.Prefix] {
			e.add(rp+".prefix", "%q is listed twice", r.Prefix)
		}
		seen[r.Prefix] = true
		if r.Zone == "" || len(r.Zone) > 64 || strings.ContainsAny(r.Zone, "\r\n\x00") {
			e.add(rp+".zone", "required, up to 64 characters on one line")
		}
		if !(r.PerMinute >= 0 && r.PerMinute <= 1e6) {
			e.add(rp+".per_minute", "must be 0 to 1000000 (grosze a minute)")
		}
		if !(r.PerMessage >= 0 && r.PerMessage <= 1e6) {
			e.add(rp+".per_message", "must be 0 to 1000000 (grosze a message)")
		}
	}
}

// validateSMS checks the top-level sms: block and every tenant's: the
// driver and its settings, and that the trunks they name exist in each
// tenant that uses them.
func (c *Config) validateSMS(e *errs) {
	if c.SMS != nil {
		validateSMSBlock(e, "sms", c.SMS)
	}
	for i, t := range c.Tenants {
		p := "tenants[" + strconv.Itoa(i) + "].sms"
		if t.SMS != nil {
			validateSMSBlock(e, p, t.SMS)
		} else {
			p = "sms"
		}
		s := c.TenantSMS(t)
		if s == nil {
			continue
		}
		has := func(name string) bool {
			for _, tr := range t.Trunks {
				if tr.Name == name {
					return true
				}
			}
			return false
		}
		if s.Driver == "sip" && s.SIP.Trunk != "" && !has(s.SIP.Trunk) {
			e.add(p+".sip.trunk", "tenant %s has no trunk %q", t.Name, s.SIP.Trunk)
		}
		if s.RateTrunk != "" && !has(s.RateTrunk) {
			e.add(p+".rate_trunk", "tenant %s has no trunk %q", t.Name, s.RateTrunk)
		}
	}
}

func validateSMSBlock(e *errs, p string, s *SMS) {
	switch s.Driver {
	case "off", "sim":
	case "http":
		if u, err := url.Parse(s.HTTP.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e.add(p+".http.url", "%q is not an http(s) URL", s.HTTP.URL)
		}
		switch s.HTTP.Method {
		case "", "GET", "POST", "PUT":
		default:
			e.add(p+".http.method", "%q is not GET, POST or PUT", s.HTTP.Method)
		}
		if s.HTTP.AuthHeader != "" && !reHeaderName.MatchString(s.HTTP.AuthHeader) {
			e.add(p+".http.auth_header", "%q is not a header name", s.HTTP.AuthHeader)
		}
		if strings.ContainsAny(s.HTTP.AuthValue+s.HTTP.ContentType, "\r\n\x00") {
			e.add(p+".http", "auth_value and content_type must be one line")
		}
		if s.HTTP.CallbackSecret != "" && len(s.HTTP.CallbackSecret) < 16 {
			e.add(p+".http.callback_secret", "must be at least 16 characters")
		}
		if s.HTTP.Timeout < 0 || s.HTTP.Timeout > 5*time.Minute {
			e.add(p+".http.timeout", "must be between 0 and 5m")
		}
	case "sip":
		if s.SIP.Trunk == "" {
			e.add(p+".sip.trunk", "required: the trunk MESSAGE requests go through")
		}
		if s.SIP.Timeout < 0 || s.SIP.Timeout > 5*time.Minute {
			e.add(p+".sip.timeout", "must be between 0 and 5m")
		}
	default:
		e.add(p+".driver", "%q is not an SMS driver (sim, http, sip, off)", s.Driver)
	}
	if utf8.RuneCountInString(s.From) > 32 || !printable(s.From) {
		e.add(p+".from", "must be printable text of up to 32 characters")
	}
	if s.MaxAttempts < 0 || s.MaxAttempts > 100 {
		e.add(p+".max_attempts", "must be 0 (default 5) to 100")
	}
	if s.RetryInitial < 0 || s.RetryMax < 0 || s.RetryMax > 24*time.Hour || (s.RetryMax > 0 && s.RetryInitial > s.RetryMax) {
		e.add(p+".retry_initial", "retry_initial and retry_max must be 0 (default) or positive, retry_initial <= retry_max <= 24h")
	}
	if s.ReportTimeout < 0 || (s.ReportTimeout > 0 && s.ReportTimeout < time.Second) || s.ReportTimeout > 30*24*time.Hour {
		e.add(p+".report_timeout", "must be 0 (default 48h) or between 1s and 720h")
	}
	if s.Sim.SendDelay < 0 || s.Sim.DeliverDelay < 0 || s.Sim.SendDelay > time.Hour || s.Sim.DeliverDelay > time.Hour {
		e.add(p+".sim", "send_delay and deliver_delay must be between 0 and 1h")
	}
	for _, x := range append(append([]string{}, s.Sim.FailSuffixes...), s.Sim.RejectSuffixes...) {
		if x == "" || len(x) > 20 || strings.Trim(x, "0123456789") != "" {
			e.add(p+".sim", "suffix %q must be 1-20 digits", x)
		}
	}
	if s.Sim.Cost < 0 || s.Sim.Cost > 1e6 {
		e.add(p+".sim.cost", "must be 0 to 1000000 grosze")
	}
}
