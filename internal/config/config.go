// Package config is switchboard's configuration file: the typed tree,
// defaults, validation that reports every error at once with file, line,
// column and field path, the demo directory, and the production password
// check. Only cmd/switchboard and internal/node import it; engines and
// dialects get their own small config structs.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-pbx/switchboard/internal/auth"
)

// Config is the whole file.
type Config struct {
	Listen    Listen    `yaml:"listen"`
	RTP       RTP       `yaml:"rtp"`
	Database  Database  `yaml:"database"`
	DataDir   string    `yaml:"data_dir"` // default "./data"
	Recording Recording `yaml:"recording"`
	Capture   Capture   `yaml:"capture"`
	Demo      bool      `yaml:"demo"`
	Tenants   []Tenant  `yaml:"tenants"`
	API       API       `yaml:"api"`
	Limits    Limits    `yaml:"limits"`
	// Dialects enables API dialects by name (native, webtapi, viptel,
	// cloudpbx, voipmonitor); absent ones keep their default (native on).
	Dialects map[string]Dialect `yaml:"dialects"`
	// SIPSecurity tunes the guard against password guessing over SIP.
	SIPSecurity SIPSecurity `yaml:"sip_security"`
	// Metrics serves Prometheus metrics (off unless configured).
	Metrics Metrics `yaml:"metrics"`
	// SMS is the text-message gateway of every tenant that has no sms:
	// block of its own (absent: no SMS).
	SMS *SMS `yaml:"sms"`

	name string         // file name for messages
	pos  map[string]pos // field path -> position
}

// Metrics is the Prometheus endpoint. It is off by default: with a token
// it is served at /metrics on the HTTP listener to requests that carry
// "Authorization: Bearer TOKEN"; with listen it is served without
// authentication on that address only (bind it to loopback or a
// monitoring network). Both may be set.
type Metrics struct {
	Token  string `yaml:"token"`
	Listen string `yaml:"listen"`
}

// QualityAlarms are a tenant's thresholds for call.quality events, each
// judged over a sliding window of what a party sends; zero values take
// the defaults (MOS 3.5, loss 2 %, jitter 40 ms, one-way audio after 4 s,
// window 5 s).
type QualityAlarms struct {
	Disabled       bool          `yaml:"disabled"`
	MinMOS         float64       `yaml:"min_mos"`
	MaxLossPercent float64       `yaml:"max_loss_percent"`
	MaxJitterMs    float64       `yaml:"max_jitter_ms"`
	OneWayAfter    time.Duration `yaml:"one_way_after"`
	Window         time.Duration `yaml:"window"`
}

// Listen holds the sockets.
type Listen struct {
	HTTP          string   `yaml:"http"`           // default 127.0.0.1:8080
	SIP           string   `yaml:"sip"`            // UDP and TCP; default 127.0.0.1:5060
	SIPTransports []string `yaml:"sip_transports"` // default [udp, tcp]
	AdvertiseIP   string   `yaml:"advertise_ip"`   // default: the SIP listen IP
	// TLS for the HTTP API: a certificate and key (PEM), or a self-signed
	// certificate generated into the data directory (for trials and the
	// demo; clients must trust it explicitly).
	TLSCert       string `yaml:"tls_cert"`
	TLSKey        string `yaml:"tls_key"`
	TLSSelfSigned bool   `yaml:"tls_self_signed"`
	// SIPTLS serves SIP over TLS on this address (e.g. 0.0.0.0:5061) with
	// the same certificate as the API.
	SIPTLS string `yaml:"sip_tls"`
}

// RTP is the media port range.
type RTP struct {
	IP      string        `yaml:"ip"`       // default: the SIP listen IP
	PortMin int           `yaml:"port_min"` // even; default 10000
	PortMax int           `yaml:"port_max"` // default 20000
	Drain   time.Duration `yaml:"drain"`    // rest before a port is reused; default 5s
	// Timeout ends a bridged call when a party sent no RTP for this long
	// (a lost BYE); not while a party holds. Default 60s; 0 disables.
	Timeout *time.Duration `yaml:"timeout"`
	// SessionExpires is the SIP session timer interval (RFC 4028) asked
	// of phones and trunks and the most granted to them; default 30m, 0
	// disables session timers. MinSE is the smallest interval accepted
	// (a phone asking less gets 422); default 90s, the RFC's minimum.
	SessionExpires *time.Duration `yaml:"session_expires"`
	MinSE          time.Duration  `yaml:"min_se"`
}

// Database selects the store.
type Database struct {
	Driver string `yaml:"driver"` // sqlite (default)
	Path   string `yaml:"path"`   // default <data_dir>/switchboard.db
}

// Recording is where WAV files go and how long they stay.
type Recording struct {
	Dir      string        `yaml:"dir"`       // default <data_dir>/recordings
	MaxAge   time.Duration `yaml:"max_age"`   // delete older files; 0 keeps them
	MaxBytes ByteSize      `yaml:"max_bytes"` // delete oldest first beyond this; 0: no limit
}

// Capture configures per-call PCAP files.
type Capture struct {
	Enabled  *bool         `yaml:"enabled"`   // default true
	Dir      string        `yaml:"dir"`       // default <data_dir>/captures
	RTP      *bool         `yaml:"rtp"`       // capture media too; default true
	MaxAge   time.Duration `yaml:"max_age"`   // default 7 days
	MaxBytes ByteSize      `yaml:"max_bytes"` // default 2 GiB
}

// ByteSize is a size in bytes, written as a number or with a unit suffix
// (K, M, G, T; powers of 1024), e.g. "500M".
type ByteSize int64

// UnmarshalYAML reads a ByteSize.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	mult := int64(1)
	if k := len(s); k > 0 {
		switch strings.ToUpper(s[k-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		case "T":
			mult = 1 << 40
		}
		if mult > 1 {
			s = strings.TrimSpace(s[:k-1])
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return fmt.Errorf("%q is not a size (bytes, or a number with K, M, G or T)", n.Value)
	}
	*b = ByteSize(v * mult)
	return nil
}

// API holds HTTP API settings.
type API struct {
	CORSOrigins []string `yaml:"cors_origins"`
	// MaxBadLoginAttempt failed logins from one address, or for one
	// account, within Lockout lock it out for Lockout (default 5, 15m).
	MaxBadLoginAttempt int           `yaml:"max_bad_login_attempt"`
	Lockout            time.Duration `yaml:"lockout"`
	// Sessions end after SessionIdle without use and SessionMax in any
	// case (default 30m, 12h).
	SessionIdle time.Duration `yaml:"session_idle"`
	SessionMax  time.Duration `yaml:"session_max"`
}

// SIPSecurity: failed digests from one address (AddressFailures) or for
// one extension (ExtensionFailures) within Window block them for
// BlockFor. Zero: the defaults (10, 20, 1m, 5m); AddressFailures -1 turns
// the guard off.
type SIPSecurity struct {
	AddressFailures   int           `yaml:"address_failures"`
	ExtensionFailures int           `yaml:"extension_failures"`
	Window            time.Duration `yaml:"window"`
	BlockFor          time.Duration `yaml:"block_for"`
}

// Dialect is one API dialect's serving: on the shared HTTP listener
// (under Prefix) and, with Listen, on a listener of its own too (e.g.
// WebTAPI on port 9998 as its spec's examples use).
type Dialect struct {
	Enabled *bool  `yaml:"enabled"`
	Listen  string `yaml:"listen"`
	Prefix  string `yaml:"prefix"` // e.g. "/demo": the dialect's paths under it
	// Options are the dialect's own settings by name (e.g. viptel's
	// login_timeout), passed as written in dialect.Deps.Options. The
	// config checks their shape (MaxDialectOptions names of
	// lowercase letters, digits and _, printable values up to
	// MaxDialectOptionLen bytes); the dialect their meaning, refusing
	// names it does not know.
	Options map[string]string `yaml:"options"`
}

// Bounds of dialects.<name>.options.
const (
	MaxDialectOptions   = 32
	MaxDialectOptionLen = 1024
)

// DialectEnabled reports whether a dialect runs: as configured, else by
// default (native only).
func (c *Config) DialectEnabled(name string) bool {
	if d, ok := c.Dialects[name]; ok && d.Enabled != nil {
		return *d.Enabled
	}
	return name == "native"
}

// Limits bound what one tenant or one API account may do at once. Zero
// (or absent) means the default; -1 means no limit.
type Limits struct {
	// CallsPerTenant bounds a tenant's live calls (default 10000: it guards against a runaway, not a big office).
	CallsPerTenant int `yaml:"calls_per_tenant"`
	// CallsPerUser bounds the live calls one API user or key originated
	// (default 20).
	CallsPerUser int `yaml:"calls_per_user"`
	// OriginatesPerMinute bounds click-to-call per tenant (default 600)
	// and per API user or key (default 60).
	OriginatesPerMinuteTenant int `yaml:"originates_per_minute_tenant"`
	OriginatesPerMinuteUser   int `yaml:"originates_per_minute_user"`
	// SMSPerMinute bounds text messages sent per tenant (default 300) and
	// per API user or key (default 60): every message costs money.
	SMSPerMinuteTenant int `yaml:"sms_per_minute_tenant"`
	SMSPerMinuteUser   int `yaml:"sms_per_minute_user"`
	// StreamsPerUser bounds the event WebSocket connections one API user
	// or key holds open (default 20).
	StreamsPerUser int `yaml:"streams_per_user"`
	// CallsInSetup is the hard ceiling on calls being set up (not yet
	// answered) at once (default 2000); SetupLatencyTarget is the setup
	// latency (an INVITE's arrival to the INVITE sent to the callee) the
	// overload controller keeps the work under by refusing new INVITEs
	// with 503 and Retry-After (default 200ms; docs/metrics.md).
	CallsInSetup       int           `yaml:"calls_in_setup"`
	SetupLatencyTarget time.Duration `yaml:"setup_latency_target"`
	// TransactionLinger is how long a finished SIP transaction stays to
	// absorb retransmissions (timers D, J, L and M). RFC 3261 says 32 s;
	// like Kamailio's wait_timer the default is 5 s, since every finished
	// transaction holds its messages (at 1,000 calls/s, 32 s of them was
	// over a gigabyte of heap). 32s restores the RFC's.
	TransactionLinger time.Duration `yaml:"transaction_linger"`
	// HTTPBodyTimeout bounds reading one request's headers and body
	// (default 30s): a client trickling a body ties up nothing longer.
	HTTPBodyTimeout time.Duration `yaml:"http_body_timeout"`
}

// ParsePrefixes reads an allowlist: CIDRs or single addresses.
func ParsePrefixes(list []string) ([]netip.Prefix, error) { return auth.ParsePrefixes(list) }

// Tenant is one PBX.
type Tenant struct {
	Name   string `yaml:"name"`
	Domain string `yaml:"domain"` // SIP domain and digest realm; default "<name lowercased>.local"
	// TimeZone is the tenant's IANA time zone ("Europe/Warsaw"): date-only
	// filters ("today", YYYY-MM-DD) mean the tenant's days. Default UTC.
	TimeZone string `yaml:"timezone"`
	// CallerIDs are the numbers API clients may present as the outbound
	// caller id of a click-to-call (the company's DIDs); users and keys
	// may have narrower lists.
	CallerIDs   []string     `yaml:"caller_ids"`
	Extensions  []Extension  `yaml:"extensions"`
	Users       []User       `yaml:"users"`
	APIKeys     []APIKey     `yaml:"api_keys"`
	Queues      []Queue      `yaml:"queues"`
	Conferences []Conference `yaml:"conferences"`
	Relays      []Relay      `yaml:"relays"`
	Cameras     []Camera     `yaml:"cameras"`
	Trunks      []Trunk      `yaml:"trunks"`
	Webhooks    []Webhook    `yaml:"webhooks"`
	// AllowFrom limits API access to these networks (CIDRs or addresses);
	// empty: anywhere. Users and keys may narrow it further.
	AllowFrom []string `yaml:"allow_from"`
	// LDAP lets the tenant's users log in with their directory password.
	LDAP *LDAP `yaml:"ldap"`
	// Roles defines roles beyond the built-in ones: a base role's rights
	// plus and minus some.
	Roles []Role `yaml:"roles"`
	// SMS is the tenant's text-message gateway, replacing the top-level
	// sms: block for it; driver "off" gives the tenant none.
	SMS *SMS `yaml:"sms"`
	// QualityAlarms tunes the live call.quality alarms (on by default).
	QualityAlarms QualityAlarms `yaml:"quality_alarms"`
}

// SMS configures text messages (internal/sms): the driver that hands
// them to a gateway, the sender and the retry schedule.
type SMS struct {
	Driver string `yaml:"driver"` // sim, http, sip; off: none
	From   string `yaml:"from"`   // sender number or name (up to 32 characters)
	// MaxAttempts hand-overs before a message FAILS (default 5); a
	// transient failure retries after RetryInitial, doubling up to
	// RetryMax (defaults 2s and 5m).
	MaxAttempts  int           `yaml:"max_attempts"`
	RetryInitial time.Duration `yaml:"retry_initial"`
	RetryMax     time.Duration `yaml:"retry_max"`
	// ReportTimeout: a message the gateway accepted that long without a
	// delivery report ends UNKNOWN (default 48h).
	ReportTimeout time.Duration `yaml:"report_timeout"`
	// RateTrunk names the trunk whose rates (per_message) price messages
	// in the CDR when the gateway gives no cost; default: the sip
	// driver's trunk.
	RateTrunk string `yaml:"rate_trunk"`
	Sim       struct {
		SendDelay      time.Duration `yaml:"send_delay"`      // ACCEPTED -> SENT, default 1s
		DeliverDelay   time.Duration `yaml:"deliver_delay"`   // SENT -> DELIVERED, default 2s
		FailSuffixes   []string      `yaml:"fail_suffixes"`   // numbers ending so end UNDELIVERED
		RejectSuffixes []string      `yaml:"reject_suffixes"` // numbers ending so are REJECTED
		Cost           int64         `yaml:"cost"`            // grosze per message; 0: none
	} `yaml:"sim"`
	HTTP struct {
		URL         string        `yaml:"url"`          // {{id}} {{to}} {{from}} {{body}} are filled in
		Method      string        `yaml:"method"`       // default POST
		Body        string        `yaml:"body"`         // template, escaped for content_type
		ContentType string        `yaml:"content_type"` // default application/json
		AuthHeader  string        `yaml:"auth_header"`  // e.g. Authorization
		AuthValue   string        `yaml:"auth_value"`   // e.g. "Bearer ..."
		RefPath     string        `yaml:"ref_path"`     // dotted JSON path of the gateway's id in its answer
		Timeout     time.Duration `yaml:"timeout"`      // per request, default 10s
		// CallbackSecret authenticates the gateway's delivery reports
		// (POST /sms/status/{tenant}); at least 16 characters.
		CallbackSecret string `yaml:"callback_secret"`
	} `yaml:"http"`
	SIP struct {
		Trunk   string        `yaml:"trunk"`   // one of the tenant's trunks
		Timeout time.Duration `yaml:"timeout"` // per MESSAGE, default 32s
	} `yaml:"sip"`
}

// TenantSMS is the SMS configuration a tenant uses: its own, else the
// top-level one; nil when it has none.
func (c *Config) TenantSMS(t Tenant) *SMS {
	s := t.SMS
	if s == nil {
		s = c.SMS
	}
	if s == nil || s.Driver == "" || s.Driver == "off" {
		return nil
	}
	return s
}

// Role is a configured role.
type Role struct {
	Name   string   `yaml:"name"`
	Base   string   `yaml:"base"` // a built-in role
	Add    []string `yaml:"add"`
	Remove []string `yaml:"remove"`
}

// LDAP is a tenant's login directory (bind as the user, roles from groups).
type LDAP struct {
	URL         string            `yaml:"url"`          // ldap://host:389 or ldaps://host:636
	UserDN      string            `yaml:"user_dn"`      // e.g. uid={user},ou=people,dc=example,dc=org
	GroupBase   string            `yaml:"group_base"`   // where groupOfNames entries live
	RoleGroups  map[string]string `yaml:"role_groups"`  // group cn -> role
	DefaultRole string            `yaml:"default_role"` // for users in no mapped group; "" refuses them
	StartTLS    bool              `yaml:"start_tls"`
	Timeout     time.Duration     `yaml:"timeout"` // default 5s
}

// Webhook posts the tenant's events to a URL.
type Webhook struct {
	Name   string   `yaml:"name"`
	URL    string   `yaml:"url"`    // http:// or https://
	Secret string   `yaml:"secret"` // HMAC-SHA256 key, at least 16 characters
	Events []string `yaml:"events"` // "call.*", "queue.caller.leave", ...; empty: all
}

// Extension is a phone line.
type Extension struct {
	Number   string `yaml:"number"`   // 1-15 digits, unique per tenant
	Name     string `yaml:"name"`     // caller id name
	Password string `yaml:"password"` // SIP digest password, or:
	HA1      string `yaml:"ha1"`      // MD5(number:domain:password) in hex
	Bot      bool   `yaml:"bot"`      // demo bot phone
	Record   bool   `yaml:"record"`   // always record
}

// User is an API or UI account.
type User struct {
	Name         string   `yaml:"name"`
	Password     string   `yaml:"password"`      // plaintext, hashed at start, or:
	PasswordHash string   `yaml:"password_hash"` // argon2id PHC string
	Extension    string   `yaml:"extension"`     // the user's own phone
	Role         string   `yaml:"role"`          // admin, supervisor, user (default), readonly
	AllowFrom    []string `yaml:"allow_from"`    // CIDRs or addresses; empty: the tenant's
	Deny         []string `yaml:"deny"`          // rights taken from this user whatever its role
	Disabled     string   `yaml:"disabled"`      // why the user may not log in; empty: it may
	CallerIDs    []string `yaml:"caller_ids"`    // outbound caller ids it may present; empty: the tenant's
}

// APIKey is a bearer key.
type APIKey struct {
	Name      string   `yaml:"name"`
	Key       string   `yaml:"key"`        // plaintext, or:
	KeySHA256 string   `yaml:"key_sha256"` // hex SHA-256 of the key
	Role      string   `yaml:"role"`       // default admin
	AllowFrom []string `yaml:"allow_from"` // CIDRs or addresses; empty: the tenant's
	Deny      []string `yaml:"deny"`       // rights taken from this key whatever its role
	CallerIDs []string `yaml:"caller_ids"` // outbound caller ids it may present; empty: the tenant's
}

// Queue is an ACD queue.
type Queue struct {
	Name        string        `yaml:"name"`
	Number      string        `yaml:"number"`
	Strategy    string        `yaml:"strategy"`     // ringall (default), leastrecent, fewestcalls, rrmemory, random, linear
	Members     []string      `yaml:"members"`      // static members: "101", or "101:2" with penalty 2
	RingTimeout time.Duration `yaml:"ring_timeout"` // default 15s
	MaxWait     time.Duration `yaml:"max_wait"`     // 0 = unlimited
	MaxLen      int           `yaml:"max_len"`      // waiting callers; 0 = unlimited
	Overflow    string        `yaml:"overflow"`     // where callers go on max_wait, max_len or empty; "" = hang up / busy
	Retry       time.Duration `yaml:"retry"`        // pause after an unanswered round; default 5s
	WrapUp      time.Duration `yaml:"wrap_up"`      // agent rest after each call; default 0
	JoinEmpty   *bool         `yaml:"join_empty"`   // callers may wait with no member logged in; default true
	LeaveEmpty  bool          `yaml:"leave_when_empty"`
	Music       string        `yaml:"music_on_hold"`  // 8 kHz 16-bit WAV; default a generated tune
	Announce    time.Duration `yaml:"announce_every"` // position announcement period; 0 = off
	AnnounceDir string        `yaml:"announce_dir"`   // position-1.wav … position-9.wav; missing files: beeps
}

// MemberPenalty splits a queue member entry "101:2" into number and
// penalty.
func MemberPenalty(entry string) (string, int, error) {
	num, pen, found := strings.Cut(entry, ":")
	if !found {
		return entry, 0, nil
	}
	p, err := strconv.Atoi(pen)
	if err != nil || p < 0 || p > 1000 {
		return num, 0, fmt.Errorf("penalty %q is not an integer 0-1000", pen)
	}
	return num, p, nil
}

// Conference is a meeting room.
type Conference struct {
	Name   string `yaml:"name"`
	Number string `yaml:"number"`
}

// Relay is a switchable output (door opener).
type Relay struct {
	ID     int    `yaml:"id"`
	Name   string `yaml:"name"`
	Driver string `yaml:"driver"` // virtual (default: state kept in the database), modbus, http
	// Pulse makes "on" a door opener's pulse: on for this long, then off.
	Pulse  time.Duration `yaml:"pulse"`
	Modbus struct {
		Address string        `yaml:"address"` // host:port of a Modbus TCP device
		Unit    uint8         `yaml:"unit"`    // unit (slave) id
		Coil    uint16        `yaml:"coil"`    // coil address
		Timeout time.Duration `yaml:"timeout"` // per request; default 2s
	} `yaml:"modbus"`
	HTTP struct {
		OnURL      string `yaml:"on_url"`
		OffURL     string `yaml:"off_url"`
		StatusURL  string `yaml:"status_url"`
		Method     string `yaml:"method"` // for on/off; default GET
		Body       string `yaml:"body"`   // {{state}} becomes on or off
		Username   string `yaml:"username"`
		Password   string `yaml:"password"`
		StatePath  string `yaml:"state_path"`  // dotted JSON path, e.g. relays.0.ison
		StateRegex string `yaml:"state_regex"` // or a regular expression; its first group is the state
	} `yaml:"http"`
	// DTMF opens the door by a code: when an extension talking with one of
	// DoorPhones (either party may have called) presses Digits, the relay
	// pulses for Pulse (default 3s). Digits from the door phone itself or
	// from a trunk never count.
	DTMF struct {
		Digits     string   `yaml:"digits"`      // 1-16 of 0-9 * # A-D, e.g. "*1"
		DoorPhones []string `yaml:"door_phones"` // extensions of this tenant
	} `yaml:"dtmf"`
}

// Camera is an IP camera.
type Camera struct {
	ID     int    `yaml:"id"`
	Name   string `yaml:"name"`
	Driver string `yaml:"driver"` // synthetic (a test pattern with a clock; the default without URLs) or http
	// URL is the snapshot URL (http driver; also snapshot_url), StreamURL
	// the MJPEG stream's.
	URL       string `yaml:"url"`
	StreamURL string `yaml:"stream_url"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
	// Extension binds the camera to a door phone: events of calls from
	// (or to) that extension carry the camera's id.
	Extension string `yaml:"extension"`
}

// CameraDriver is the camera's driver: as configured, else http when it
// has URLs and synthetic when not.
func (c Camera) CameraDriver() string {
	switch {
	case c.Driver != "":
		return c.Driver
	case c.URL != "" || c.StreamURL != "":
		return "http"
	}
	return "synthetic"
}

// Trunk is a SIP peer for external numbers.
type Trunk struct {
	Name      string `yaml:"name"`
	Address   string `yaml:"address"`   // host:port
	Transport string `yaml:"transport"` // udp (default) or tcp
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
	Prefix    string `yaml:"prefix"` // "" = any non-internal number
	Strip     int    `yaml:"strip"`
	CallerID  string `yaml:"caller_id"`
	Record    bool   `yaml:"record"` // always record calls through this trunk
	// Inbound trust (docs/security.md): calls from the trunk's address reach
	// only DIDs (default: the tenant's extensions, queues, conferences) and
	// never go back out a trunk unless allow_transit; a secret header, if
	// set, must be present on every INVITE from the trunk.
	DIDs                []string `yaml:"dids"`
	AllowTransit        bool     `yaml:"allow_transit"`
	InboundSecretHeader string   `yaml:"inbound_secret_header"`
	InboundSecret       string   `yaml:"inbound_secret"`
	// Rates price the calls that leave through this trunk (CloudPBX's
	// cost and zone): the longest matching prefix of the dialled number
	// wins; talk time is billed in whole billing_increment steps (default
	// 60s). Calls matching no prefix are not rated.
	Rates            []Rate        `yaml:"rates"`
	BillingIncrement time.Duration `yaml:"billing_increment"`
}

// Rate is one prefix of a trunk's rate table: the zone's name and the
// price of a minute in grosze (fractions allowed).
type Rate struct {
	Prefix    string  `yaml:"prefix"`
	Zone      string  `yaml:"zone"`
	PerMinute float64 `yaml:"per_minute"`
	// PerMessage prices a text message sent to the prefix (grosze,
	// rounded up), for SMS whose gateway gives no cost.
	PerMessage float64 `yaml:"per_message"`
}

type pos struct{ line, col int }

// Load reads, parses, defaults and validates a file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses, defaults and validates data; name prefixes messages.
func Parse(data []byte, name string) (*Config, error) {
	c := &Config{name: name, pos: map[string]pos{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is an empty config
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(root.Content) > 0 {
		record(c.pos, "", root.Content[0])
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func record(m map[string]pos, path string, n *yaml.Node) {
	if _, ok := m[path]; !ok {
		m[path] = pos{n.Line, n.Column}
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			m[p] = pos{v.Line, v.Column}
			record(m, p, v)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			m[p] = pos{v.Line, v.Column}
			record(m, p, v)
		}
	}
}

// RightsFor resolves a user's or key's rights: nil when the built-in
// role applies unchanged, else the computed set.
func RightsFor(t Tenant, role string, deny []string) map[string]bool {
	var out map[string]bool
	for _, r := range t.Roles {
		if r.Name == role {
			out = auth.RoleRights(r.Base)
			for _, a := range r.Add {
				out[a] = true
			}
			for _, x := range r.Remove {
				delete(out, x)
			}
		}
	}
	if len(deny) > 0 {
		if out == nil {
			out = auth.RoleRights(role)
		}
		for _, x := range deny {
			delete(out, x)
		}
	}
	return out
}
