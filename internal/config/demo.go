package config

import "fmt"

// Demo returns the demo directory. Its names and numbers are the ones the
// vendor specs use in their examples, so those example requests work
// verbatim against `switchboard serve --demo`.
func Demo() *Config {
	t := Tenant{Name: "MojaCentrala", Domain: "mojacentrala.local", TimeZone: "Europe/Warsaw"}
	names := map[string]string{"42": "Jan", "43": "Robert", "101": "Sekretariat 3"}
	for _, n := range []string{"12", "13", "42", "43", "101", "105", "130", "200", "1001", "1002", "1003", "1004", "1222"} {
		name := names[n]
		if name == "" {
			name = "Bot " + n
		}
		t.Extensions = append(t.Extensions, Extension{Number: n, Name: name, Password: "demo", Bot: true})
	}
	for i := 2001; i <= 2004; i++ {
		n := fmt.Sprint(i)
		t.Extensions = append(t.Extensions, Extension{Number: n, Name: "Phone " + n, Password: "demo"})
	}
	t.Users = append(t.Users, User{Name: "admin", Password: "admin", Role: "admin"})
	for _, x := range t.Extensions {
		t.Users = append(t.Users, User{Name: x.Number, Password: "demo", Extension: x.Number, Role: "user"})
	}
	t.Users = append(t.Users,
		User{Name: "viptel", Password: "viptel", Role: "admin"},
		User{Name: "voipmonitor", Password: "voipmonitor", Role: "admin"})
	t.APIKeys = []APIKey{{Name: "cloudpbx", Key: "MyExampleKey", Role: "admin"}}
	t.Trunks = []Trunk{{Name: "pstn"}} // address: the simulated carrier, filled in at start
	t.Queues = []Queue{
		{Name: "VMX", Number: "7777", Members: []string{"1001", "1002"}},
		{Name: "Kolejka1", Number: "7000", Members: []string{"101"}},
	}
	t.Conferences = []Conference{{Name: "SesjaRady", Number: "8000"}}
	door := Relay{ID: 17, Name: "Door"}
	door.DTMF.Digits, door.DTMF.DoorPhones = "*1", []string{"2004"} // talking with the door phone, press *1
	t.Relays = []Relay{door}
	// Phone 2004 is the entrance's door phone: its calls carry camera 44.
	t.Cameras = []Camera{{ID: 44, Name: "Entrance", Extension: "2004"}}
	// Text messages through the simulated gateway: a number ending in 13
	// ends UNDELIVERED, one ending in 66 is REJECTED, every other is
	// DELIVERED about 3 s after it was sent, for 9 grosze.
	t.SMS = &SMS{Driver: "sim", From: "MojaCentrala"}
	t.SMS.Sim.FailSuffixes, t.SMS.Sim.RejectSuffixes, t.SMS.Sim.Cost = []string{"13"}, []string{"66"}, 9
	yes := true
	c := &Config{
		Listen: Listen{HTTP: "127.0.0.1:8080", SIP: "127.0.0.1:5060"},
		// The vendor dialects whose demo accounts exist above (native is on
		// by default): the specs' examples (CloudPBX's GET /cdr and
		// /ws/pbx_MojaCentrala?pbxkey=MyExampleKey, VIPTel's WebSocket at /,
		// VoIPmonitor's php/model/sql.php?module=bypass_login&user=voipmonitor)
		// work against the demo as the specs print them; WebTAPI's
		// /webtapi/webtapi.php with the logins N/demo and admin/admin.
		Dialects: map[string]Dialect{"native": {Enabled: &yes}, "cloudpbx": {Enabled: &yes}, "viptel": {Enabled: &yes}, "webtapi": {Enabled: &yes},
			// the spec's reportSummary example runs "test summary": all CDRs
			"voipmonitor": {Enabled: &yes, Options: map[string]string{"report_test_summary": ""}}},
		RTP: RTP{IP: "127.0.0.1", PortMin: 10000, PortMax: 20000},
		// Prometheus at /metrics with "Authorization: Bearer demo-metrics".
		Metrics: Metrics{Token: "demo-metrics"},
		Demo:    true, Tenants: []Tenant{t}, name: "demo", pos: map[string]pos{},
	}
	c.ApplyDefaults()
	return c
}
