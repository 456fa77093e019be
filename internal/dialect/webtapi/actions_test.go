package webtapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/audit"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestRestrictedRoles: a user (1004) acts on its own extension's calls
// only; everything else is 0 with an audit entry naming the refusal, and
// the engine is never asked.
func TestRestrictedRoles(t *testing.T) {
	f := newFixture(t)
	user := f.login(t, "1004", "demo")
	f.core.SetRegistration(tenant, "1004", &pbx.Registration{Contact: "sip:1004@127.0.0.1:5064", Expires: t0.Add(100000000000)})
	_, mine, _ := f.call(t, tenant, "1004", "1001", true)
	_, theirs, _ := f.call(t, tenant, "1002", "1003", true)

	// Allowed: originate from its own extension (src given or not).
	for _, q := range []string{"action=call&src=1004&dst=1001", "action=call&dst=1002"} {
		if _, body, e := f.get(t, q+"&SID="+user); body != "1" {
			t.Fatalf("%s: %q %s", q, body, e)
		}
	}
	if len(f.eng.orig) != 2 || f.eng.orig[1].From != "1004" || f.eng.orig[1].To != "1002" || f.eng.orig[1].Owner != "user:1004" {
		t.Fatalf("originates: %+v", f.eng.orig)
	}
	before := f.eng.actions()
	for _, q := range []string{
		"action=call&src=1001&dst=1002",
		"action=call_hangup&chan=" + url.QueryEscape(theirs.Name),
		"action=call_record_start&chan=" + url.QueryEscape(theirs.Name),
		"action=chan_play_dtmf&tone=1&chan=" + url.QueryEscape(theirs.Name),
		"action=call_prio&dst=1001",
		"action=call_create_conf&stations=1001,1002",
		"action=chan_monitor&chan=" + url.QueryEscape(theirs.Name) + "&dst=1004",
		"action=call_list&src=1001",
		"action=agent_login&q_name=VMX&src=1001",
		"action=q_shift_caller&q_name=VMX&chan=SIP/1002-00000001&pos=1",
		"action=call_pick&chan=" + url.QueryEscape(theirs.Name) + "&dst=1001",
	} {
		_, body, e := f.get(t, q+"&SID="+user)
		if body != "0" || e != "forbidden" {
			t.Errorf("%s: %q %s, want 0 forbidden", q, body, e)
		}
	}
	if f.eng.actions() != before {
		t.Fatalf("the engine was asked: %+v %+v %+v", f.eng.hung, f.eng.redir, f.eng.dtmf)
	}
	f.audit.wait(t, func(e audit.Entry) bool {
		return e.Dialect == Name && e.Action == "call_hangup" && e.Principal == "1004" && e.Status == 403 && e.Reason == "forbidden" &&
			e.Target == theirs.Name
	})
	// call_list_all shows a user its own calls only.
	_, body, _ := f.get(t, "action=call_list_all&SID="+user)
	if !strings.Contains(body, mine.Name) || strings.Contains(body, theirs.Name) {
		t.Fatalf("call_list_all for a user: %q", body)
	}
	// Its own call: hang up and DTMF reach the engine.
	if _, body, e := f.get(t, "action=call_hangup&chan="+url.QueryEscape(mine.Name)+"&SID="+user); body != "1" {
		t.Fatalf("own hangup: %q %s", body, e)
	}
	if _, body, e := f.get(t, "action=chan_play_dtmf&tone=12%23&SID="+user); body != "1" {
		t.Fatalf("DTMF into its call: %q %s", body, e)
	}
	if !slices.Contains(f.eng.hung, mine.UniqueID) || len(f.eng.dtmf) != 1 || !strings.HasSuffix(f.eng.dtmf[0], ":12#") {
		t.Fatalf("engine: hung %v dtmf %v", f.eng.hung, f.eng.dtmf)
	}
	// Picking a call ringing elsewhere to its own phone is a pickup.
	_, _, ringing := f.call(t, tenant, "1002", "1003", false)
	if _, body, e := f.get(t, "action=call_pick&chan="+url.QueryEscape(ringing.Name)+"&dst=1004&SID="+user); body != "1" {
		t.Fatalf("pickup: %q %s", body, e)
	}
	if last := f.eng.redir[len(f.eng.redir)-1]; !strings.HasPrefix(last, "pickup:") || !strings.HasSuffix(last, ">1004") {
		t.Fatalf("pickup: %v", f.eng.redir)
	}
	// The admin redirects.
	admin := f.login(t, "admin", "admin")
	if _, body, e := f.get(t, "action=call_pick&chan="+url.QueryEscape(theirs.Name)+"&dst=1004&SID="+admin); body != "1" {
		t.Fatalf("admin call_pick: %q %s", body, e)
	}
	if last := f.eng.redir[len(f.eng.redir)-1]; last != theirs.UniqueID+">1004" {
		t.Fatalf("redirect: %v", f.eng.redir)
	}
}

// TestBadInput: missing and malformed parameters, unknown actions, other
// methods, SQL metacharacters, path tricks in monitor_file and NUL answer
// 0 and change nothing.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	admin := f.login(t, "admin", "admin")
	_, live, _ := f.call(t, tenant, "1004", "1001", true)
	_, inna, _ := f.call(t, other, "1004", "1004", true)
	ch := url.QueryEscape(live.Name)
	sql := url.QueryEscape("1' OR '1'='1")
	for _, q := range []string{
		"action=", "action=nope", "action=CALL&src=1004&dst=1001", "action=call%00&src=1004&dst=1001",
		"action=call", "action=call&src=1004", "action=call&dst=1001", "action=call&src=1004&dst=" + sql,
		"action=call&src=" + sql + "&dst=1001", "action=call&src=1004&dst=1001%00", "action=call&src=1004&dst=1001;1002",
		"action=call&src=1004&dst=1001&dst=1002",
		"action=call_hangup", "action=call_hangup&chan=" + sql, "action=call_hangup&chan=SIP/9999-00000001",
		"action=call_hangup&chan=" + url.QueryEscape(inna.Name), // another tenant's channel
		"action=call_pick&chan=" + ch, "action=call_pick&chan=" + ch + "&dst=" + sql,
		"action=call_prio", "action=call_prio&dst=1001", // admin has no extension and gave no src
		"action=call_record_start&chan=" + ch + "&monitor_file=../x",
		"action=call_record_start&chan=" + ch + "&monitor_file=..%2F..%2Fetc%2Fpasswd",
		"action=call_record_start&chan=" + ch + "&monitor_file=%2Fetc%2Fpasswd",
		"action=call_record_start&chan=" + ch + "&monitor_file=a%5Cb",
		"action=call_record_start&chan=" + ch + "&monitor_file=a%00b",
		"action=call_record_start&chan=" + ch + "&monitor_file=%252e%252e%252fx",
		"action=call_record_start&chan=" + ch + "&monitor_file=",
		"action=call_record_start&chan=" + ch + "&monitor_file=" + sql,
		"action=call_record_get", "action=call_record_get&monitor_file=../switchboard.db",
		"action=call_record_get&monitor_file=%2Fetc%2Fpasswd", "action=call_record_get&monitor_file=..%5C..%5Cx.wav",
		"action=call_record_get&monitor_file=x.wav%00.txt", "action=call_record_get&monitor_file=" + sql,
		"action=call_record_stop&chan=" + ch, // nothing is recording it
		"action=call_status_get&filter=", "action=call_status_get&filter=" + sql, "action=call_status_get&filter=1001,,1002",
		"action=call_create_conf", "action=call_create_conf&stations=1001", "action=call_create_conf&stations=1001,1002&break=maybe",
		"action=call_create_conf&stations=1001," + sql,
		"action=chan_play_dtmf&chan=" + ch, "action=chan_play_dtmf&chan=" + ch + "&tone=12x", "action=chan_play_dtmf&tone=1",
		"action=chan_monitor", "action=chan_monitor&chan=" + ch + "&dst=" + sql,
		"action=agent_list", "action=agent_list&q_name=" + sql, "action=agent_list&q_name=NOPE",
		"action=agent_login&q_name=VMX", "action=agent_login&q_name=VMX&src=" + sql,
		"action=q_call_list", "action=q_call_list&q_name=" + sql, "action=q_waiting_list&q_name=" + sql,
		"action=q_shift_caller&q_name=VMX&chan=" + ch, "action=q_shift_caller&q_name=VMX&chan=" + ch + "&pos=0",
		"action=q_shift_caller&q_name=VMX&chan=" + ch + "&pos=-1", "action=q_shift_caller&q_name=VMX&chan=" + ch + "&pos=1",
		"action=q_caller_del&q_name=VMX", "action=q_caller_del&q_name=VMX&chan=" + ch,
		"action=q_caller_del&q_name=VMX&chan=" + ch + "&dst=" + sql,
		"action=relay_status_get", "action=relay_status_get&relay_id=" + sql, "action=relay_status_get&relay_id=18",
		"action=relay_status_get&relay_id=17.0", "action=relay_status_set&relay_id=17", "action=relay_status_set&relay_id=17&status=2",
		"action=relay_status_set&relay_id=17&status=" + sql, "action=relay_status_set&relay_id=" + sql + "&status=1",
		"action=relay_status_set&relay_id=17&status=1&status=0",
		"action=vmx_cam_get_pic", "action=vmx_cam_get_pic&CAMID=45", "action=vmx_cam_get_pic&CAMID=" + sql,
		"action=vmx_cam_get_pic&camid=44", "action=vmx_cam_get_stream&CAMID=45",
		"action=vmx_cam_s_record", "action=vmx_cam_s_record&CAMID=" + sql, "action=vmx_cam_s_record&CAMID=44&duration=0",
		"action=vmx_cam_s_record&CAMID=44&duration=3601", "action=vmx_cam_s_record&CAMID=44&stop=maybe",
		"action=vmx_cam_s_record&CAMID=44&stop=1&duration=5", "action=vmx_cam_p_save", "action=vmx_cam_p_save&CAMID=..%2F44",
	} {
		code, body, e := f.get(t, q+"&SID="+admin)
		if code != 200 || body != "0" || e == "" {
			t.Errorf("%s: %d %q %q, want 0", q, code, body, e)
		}
	}
	for _, m := range []string{"PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
		req, _ := http.NewRequest(m, f.srv.URL+Path+"?action=call_list_all&SID="+admin, nil)
		res, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, body, e := read(t, res); e != "bad_parameter" || (m != "HEAD" && body != "0") {
			t.Errorf("%s: %q %q", m, body, e)
		}
	}
	if n := f.eng.actions(); n != 0 {
		t.Fatalf("bad input reached the engine %d times: %+v %+v %+v %+v", n, f.eng.orig, f.eng.hung, f.eng.redir, f.eng.dtmf)
	}
	if f.rel.on[17] {
		t.Fatal("the relay switched")
	}
	if _, err := f.core.FindCall(other, inna.CallID); err != nil {
		t.Fatalf("the other tenant's call: %v", err)
	}
	// Still healthy.
	if _, body, _ := f.get(t, "action=relay_status_get&relay_id=17&SID="+admin); body != "0" {
		t.Fatalf("relay: %q", body)
	}
	if _, body, _ := f.get(t, "action=call_status_get&filter=1004&SID="+admin); body != "1004:1\n" {
		t.Fatalf("status: %q", body)
	}
}
