package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestExampleParsesAndIsProductionReady(t *testing.T) {
	c, err := Load("testdata/example.yaml")
	if err == nil && (c.Recording.MaxBytes != 50<<30 || c.Capture.MaxBytes != 2<<30 || c.Recording.MaxAge.Hours() != 2160 || !*c.Capture.RTP) {
		t.Fatalf("retention settings read as %+v %+v", c.Recording, c.Capture)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckProduction(); err != nil {
		t.Fatalf("example refused: %v", err)
	}
	tn := c.Tenant("Acme")
	if tn == nil || len(tn.Extensions) != 3 || tn.Queues[0].RingTimeout.Seconds() != 20 || tn.Trunks[0].Prefix != "0" ||
		tn.Cameras[0].Extension != "190" || tn.Relays[0].DTMF.Digits != "*1" {
		t.Fatalf("parsed %+v", tn)
	}
	if c.Database.Path != "data/switchboard.db" || c.RTP.Drain.Seconds() != 5 {
		t.Fatalf("defaults: %+v %+v", c.Database, c.RTP)
	}
}

const base = `tenants:
  - name: T
    extensions:
      - number: "100"
        password: "long-enough-pass"
`

func TestValidationErrorsNameLineAndField(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"bad number", base + `      - number: "12a"
        password: x
`, []string{`t.yaml:6:17: tenants[0].extensions[1].number: "12a" is not a number`}},
		{"duplicate number", base + `      - number: "100"
        password: x
`, []string{"t.yaml:6:17: tenants[0].extensions[1].number: number 100 already belongs to extension 100"}},
		{"missing password points at the item", base + `      - number: "101"
`, []string{"t.yaml:6:9: tenants[0].extensions[1]: password or ha1 is required"}},
		{"unknown key", base + `        colour: red
`, []string{"line 6: field colour not found"}},
		{"queue member and strategy, both reported", base + `    queues:
      - name: q
        number: "700"
        strategy: fastest
        members: ["999"]
`, []string{"t.yaml:9:19: tenants[0].queues[0].strategy", `t.yaml:10:19: tenants[0].queues[0].members[0]: "999" is not an extension`}},
		{"odd rtp port", "rtp:\n  port_min: 10001\n  port_max: 20000\n" + base, []string{"t.yaml:2:13: rtp.port_min: 10001 must be even"}},
		{"session liveness", "rtp:\n  timeout: 500ms\n  session_expires: 60s\n" + base,
			[]string{"t.yaml:2:12: rtp.timeout: 500ms: must be 0 (off) or at least 1s", "rtp.session_expires: 1m0s: must be 0 (off) or at least min_se (1m30s)"}},
		{"min_se below the RFC", "rtp:\n  min_se: 30s\n" + base, []string{"rtp.min_se: 30s: RFC 4028 allows no less than 90s"}},
		{"postgres not yet", "database:\n  driver: postgres\n" + base, []string{"database.driver: postgres is not yet supported"}},
		{"wildcard needs advertise", "listen:\n  sip: 0.0.0.0:5060\n" + base, []string{"listen.advertise_ip: required"}},
		{"trunk address", base + "    trunks:\n      - name: x\n", []string{"t.yaml:7:9: tenants[0].trunks[0].address: required"}},
		{"no tenants", "data_dir: /tmp\n", []string{"tenants: at least one tenant is required"}},
		{"one key in two tenants", base + "    api_keys:\n      - name: k\n        key: shared-key-0123456789\n" +
			"  - name: U\n    extensions:\n      - number: \"100\"\n        password: \"long-enough-pass\"\n" +
			"    api_keys:\n      - name: k2\n        key: shared-key-0123456789\n",
			[]string{"tenants[1].api_keys[0]: the same key is already configured at tenants[0].api_keys[0]"}},
		{"user name with a slash", base + "    users:\n      - name: a/b\n        password: long-enough-pass\n",
			[]string{"tenants[0].users[0].name:"}},
		{"one carrier address in two tenants without DIDs", base + "    trunks:\n      - name: x\n        address: 192.0.2.1:5060\n" +
			"  - name: U\n    extensions:\n      - number: \"100\"\n        password: \"long-enough-pass\"\n" +
			"    trunks:\n      - name: y\n        address: 192.0.2.1:5060\n        dids: [\"420555\"]\n",
			[]string{"tenants[1].trunks[0].address: 192.0.2.1:5060 is also the address of tenants[0].trunks[0]"}},
		{"limits out of range", "limits:\n  calls_per_user: -5\n  http_body_timeout: 3h\n  calls_in_setup: -1\n  setup_latency_target: 1ms\n  transaction_linger: 1m\n" + base,
			[]string{"limits.transaction_linger: 1m0s must be", "limits.calls_per_user: -5 must be", "limits.http_body_timeout: must be between", "limits.calls_in_setup: -1 must be", "limits.setup_latency_target: 1ms must be"}},
		{"trunk inbound trust", base + "    trunks:\n      - name: x\n        address: 192.0.2.1:5060\n        dids: [\"12a\"]\n        inbound_secret_header: X-Secret\n",
			[]string{`tenants[0].trunks[0].dids[0]: "12a" is not a number`, "tenants[0].trunks[0].inbound_secret: inbound_secret_header and inbound_secret go together"}},
		{"trunk rates", base + "    trunks:\n      - name: x\n        address: 192.0.2.1:5060\n        billing_increment: 1500ms\n" +
			"        rates:\n          - {prefix: \"0048\", zone: Polska, per_minute: 12}\n          - {prefix: \"0048\", zone: \"\", per_minute: -1}\n          - {prefix: \"+1\", zone: US, per_minute: 1}\n",
			[]string{"tenants[0].trunks[0].billing_increment: must be whole seconds", `tenants[0].trunks[0].rates[1].prefix: "0048" is listed twice`,
				"tenants[0].trunks[0].rates[1].zone: required", "tenants[0].trunks[0].rates[1].per_minute: must be 0 to 1000000",
				`tenants[0].trunks[0].rates[2].prefix: "+1" must be up to 20 digits`}},
		{"camera door phone", base + "    cameras:\n      - {id: 1, extension: \"999\"}\n      - {id: 2, extension: \"100\"}\n      - {id: 3, extension: \"100\"}\n",
			[]string{`tenants[0].cameras[0].extension: "999" is not an extension of this tenant`, "tenants[0].cameras[2].extension: extension 100 has a camera already"}},
		{"dialect options", "dialects:\n  viptel:\n    options:\n      login_timeout: \"a\\tb\"\n      Bad-Name: x\n      long: \"" + strings.Repeat("x", MaxDialectOptionLen+1) + "\"\n" + base,
			[]string{"dialects.viptel.options.login_timeout: must be printable text", `dialects.viptel.options: "Bad-Name" is not an option name`,
				"dialects.viptel.options.long: must be printable text of at most 1024 bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "t.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestDialectOptions: options are read as written, for the dialect to
// interpret; too many is an error.
func TestDialectOptions(t *testing.T) {
	c, err := Parse([]byte("dialects:\n  viptel:\n    enabled: true\n    options:\n      login_timeout: 45s\n      note: \"any printable text, even ščť\"\n"+base), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Dialects["viptel"].Options; len(o) != 2 || o["login_timeout"] != "45s" || o["note"] != "any printable text, even ščť" {
		t.Fatalf("options %v", o)
	}
	var many strings.Builder
	many.WriteString("dialects:\n  viptel:\n    options:\n")
	for i := 0; i <= MaxDialectOptions; i++ {
		fmt.Fprintf(&many, "      o%d: x\n", i)
	}
	if _, err := Parse([]byte(many.String()+base), "t.yaml"); err == nil || !strings.Contains(err.Error(), "dialects.viptel.options: 33 options; at most 32") {
		t.Fatalf("%d options: %v", MaxDialectOptions+1, err)
	}
}

func TestDemoDirectory(t *testing.T) {
	c := Demo()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	tn := c.Tenant("MojaCentrala")
	var bots, phones []string
	for _, x := range tn.Extensions {
		if x.Bot {
			bots = append(bots, x.Number)
		} else {
			phones = append(phones, x.Number)
		}
	}
	if strings.Join(bots, ",") != "12,13,42,43,101,105,130,200,1001,1002,1003,1004,1222" || strings.Join(phones, ",") != "2001,2002,2003,2004" {
		t.Fatalf("bots %v phones %v", bots, phones)
	}
	if tn.APIKeys[0].Key != "MyExampleKey" || tn.Queues[0].Number != "7777" || tn.Queues[1].Name != "Kolejka1" ||
		tn.Conferences[0].Name != "SesjaRady" || tn.Relays[0].ID != 17 || tn.Cameras[0].ID != 44 {
		t.Fatalf("demo directory: %+v", tn)
	}
	if err := c.CheckProduction(); err == nil {
		t.Fatal("demo passwords pass the production check")
	} else if strings.Contains(err.Error(), `"demo"`) || strings.Contains(err.Error(), "MyExampleKey\"") {
		t.Fatalf("production check prints a secret: %v", err)
	} else if !strings.Contains(err.Error(), "metrics.token") || strings.Contains(err.Error(), "demo-metrics") {
		t.Fatalf("the demo's metrics token is not refused (or is printed): %v", err)
	}
	c.Metrics.Listen = c.Listen.HTTP
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "metrics.listen") {
		t.Fatalf("metrics on the API listener: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	ex, _ := os.ReadFile("testdata/example.yaml")
	f.Add(ex)
	f.Add([]byte(base))
	f.Add([]byte("tenants: [{name: x, extensions: [{number: 1, password: p}]}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, "f.yaml")
		if err == nil && len(c.Tenants) == 0 {
			t.Fatal("valid config without tenants")
		}
	})
}

func TestCustomRolesAndDeny(t *testing.T) {
	tn := Tenant{Roles: []Role{{Name: "crm", Base: "readonly", Add: []string{"calls.control"}, Remove: []string{"recordings.download"}}}}
	r := RightsFor(tn, "crm", nil)
	if !r["calls.control"] || r["recordings.download"] || !r["cdr.read"] {
		t.Fatalf("crm rights %v", r)
	}
	if RightsFor(tn, "admin", nil) != nil {
		t.Fatal("built-in role without deny should keep the built-in rights (nil)")
	}
	if d := RightsFor(tn, "admin", []string{"pcap.read"}); d["pcap.read"] || !d["admin"] {
		t.Fatalf("admin minus pcap %v", d)
	}
}

func TestSetDataDirMovesDerivedPaths(t *testing.T) {
	c := Demo()
	c.Recording.Dir = "/srv/rec" // explicit: stays
	c.SetDataDir("/var/lib/sb")
	if c.Capture.Dir != "/var/lib/sb/captures" || c.Recording.Dir != "/srv/rec" || c.DataDir != "/var/lib/sb" {
		t.Fatalf("capture %q recording %q", c.Capture.Dir, c.Recording.Dir)
	}
}

// TestSharedCarrierWithDisjointDIDs: two tenants may share a carrier
// address when each trunk names its own numbers.
func TestSharedCarrierWithDisjointDIDs(t *testing.T) {
	y := base + "    trunks:\n      - name: x\n        address: 192.0.2.1:5060\n        dids: [\"420111\"]\n" +
		"  - name: U\n    extensions:\n      - number: \"100\"\n        password: \"long-enough-pass\"\n" +
		"    trunks:\n      - name: y\n        address: 192.0.2.1:5060\n        dids: [\"420555\"]\n"
	if _, err := Parse([]byte(y), "t.yaml"); err != nil {
		t.Fatal(err)
	}
}

// TestTrunkRatesParse: a valid rate table reads with its increment.
func TestTrunkRatesParse(t *testing.T) {
	y := base + "    trunks:\n      - name: x\n        address: 192.0.2.1:5060\n        billing_increment: 30s\n" +
		"        rates:\n          - {prefix: \"0048\", zone: Polska, per_minute: 12.5}\n          - {prefix: \"\", zone: Inne, per_minute: 100}\n"
	c, err := Parse([]byte(y), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Tenants[0].Trunks[0]
	if tr.BillingIncrement != 30*time.Second || len(tr.Rates) != 2 || tr.Rates[0] != (Rate{Prefix: "0048", Zone: "Polska", PerMinute: 12.5}) {
		t.Fatalf("trunk %+v", tr)
	}
}

// TestSMSConfig: the top-level sms: block applies to tenants without
// their own; a tenant's block replaces it ("off" turns SMS off); every
// driver's settings are checked, all problems at once.
func TestSMSConfig(t *testing.T) {
	good := `sms:
  driver: http
  from: Acme
  http:
    url: "https://gw.example/send?to={{to}}"
    auth_header: Authorization
    auth_value: "Bearer x"
    callback_secret: "0123456789abcdef"
  rate_trunk: out
tenants:
  - name: A
    trunks:
      - {name: out, address: "192.0.2.1:5060", transport: udp, rates: [{prefix: "48", zone: PL, per_minute: 10, per_message: 9}]}
  - name: B
    sms: {driver: sip, sip: {trunk: gsm}}
    trunks:
      - {name: gsm, address: "192.0.2.2:5060", transport: udp}
  - name: C
    sms: {driver: "off"}
`
	c, err := Parse([]byte(good), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, b, cc := c.TenantSMS(c.Tenants[0]), c.TenantSMS(c.Tenants[1]), c.TenantSMS(c.Tenants[2])
	if a == nil || a.Driver != "http" || a.HTTP.AuthValue != "Bearer x" || b == nil || b.SIP.Trunk != "gsm" || cc != nil {
		t.Fatalf("tenant sms: %+v %+v %+v", a, b, cc)
	}
	if c.Tenants[0].Trunks[0].Rates[0].PerMessage != 9 {
		t.Fatal("per_message not read")
	}
	bad := `sms:
  driver: carrier-pigeon
tenants:
  - name: A
    sms:
      driver: http
      from: "` + strings.Repeat("x", 33) + `"
      max_attempts: 101
      report_timeout: 10ms
      retry_initial: 10m
      retry_max: 1m
      http: {url: "ftp://x", method: DELETE, auth_header: "Bad Header", callback_secret: short}
      sim: {fail_suffixes: ["1a"]}
  - name: B
    sms: {driver: sip, rate_trunk: nope}
`
	_, err = Parse([]byte(bad), "t.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`sms.driver: "carrier-pigeon" is not an SMS driver`, "tenants[0].sms.from", "tenants[0].sms.max_attempts",
		"tenants[0].sms.retry_initial", "tenants[0].sms.report_timeout", `tenants[0].sms.http.url: "ftp://x"`, "tenants[0].sms.http.method", "tenants[0].sms.http.auth_header",
		"tenants[0].sms.http.callback_secret", `tenants[0].sms.sim: suffix "1a"`, "tenants[1].sms.sip.trunk: required", `tenants[1].sms.rate_trunk: tenant B has no trunk "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if d := Demo(); d.TenantSMS(d.Tenants[0]) == nil || d.TenantSMS(d.Tenants[0]).Driver != "sim" {
		t.Fatal("the demo has no sim SMS gateway")
	}
}

// TestLivenessDefaults: the RTP inactivity timeout and session timers are
// on by default (60 s; 30 min with Min-SE 90 s), and 0 turns each off.
func TestLivenessDefaults(t *testing.T) {
	c, err := Parse([]byte(base), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if *c.RTP.Timeout != 60*time.Second || *c.RTP.SessionExpires != 30*time.Minute || c.RTP.MinSE != 90*time.Second {
		t.Fatalf("defaults: timeout %v, session_expires %v, min_se %v", *c.RTP.Timeout, *c.RTP.SessionExpires, c.RTP.MinSE)
	}
	c, err = Parse([]byte("rtp:\n  timeout: 0s\n  session_expires: 0s\n"+base), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if *c.RTP.Timeout != 0 || *c.RTP.SessionExpires != 0 {
		t.Fatalf("0 should turn them off: timeout %v, session_expires %v", *c.RTP.Timeout, *c.RTP.SessionExpires)
	}
}
