package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// vmDo sends a request with an optional cookie and returns status, body
// and the response's cookies.
func vmDo(t *testing.T, method, u, cookie, contentType, body string) (int, string, []*http.Cookie) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Cookies()
}

// vmLogin runs the spec's bypass_login and returns "cookie_name=SID".
func vmLogin(t *testing.T, base string) string {
	t.Helper()
	code, body, cookies := vmDo(t, "POST", base+"/php/model/sql.php?module=bypass_login&user=voipmonitor&pass=voipmonitor", "", "", "")
	var l struct {
		SID        string `json:"SID"`
		CookieName string `json:"cookie_name"`
		Success    bool   `json:"success"`
		VMVersion  int    `json:"_vm_version"`
		Debug      *bool  `json:"_debug"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &l) != nil || !l.Success || l.SID == "" || l.VMVersion != 240034 || l.Debug == nil || *l.Debug {
		t.Fatalf("bypass_login: %d %s", code, body)
	}
	if len(cookies) != 1 || cookies[0].Name != l.CookieName || cookies[0].Value != l.SID {
		t.Fatalf("login cookie %v, body %s", cookies, body)
	}
	return l.CookieName + "=" + l.SID
}

// TestVoIPmonitorOnTheDemo: a real SIP call from a phone (2001) to a demo
// bot, then the spec's curl sequence: bypass_login, the LISTING with its
// date and caller filter showing the call with both RTP streams' detail,
// suppress_results, the CDR_stats summary per last SIP response; a stale
// cookie and a wrong password get the dialect's error.
func TestVoIPmonitorOnTheDemo(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	p := phone(t, n, "2001")
	sub := n.Core().Subscribe("MojaCentrala", 1000)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := p.Call(ctx, "2001", "1001", 1500*time.Millisecond)
	if err != nil || !res.Answered {
		t.Fatalf("call: %+v %v", res, err)
	}
	cdr := waitCallEnded(t, sub)
	if res, err := p.Call(ctx, "2001", "555486", time.Second); err != nil || res.Status != 486 {
		t.Fatalf("busy call: %+v %v", res, err)
	}
	waitCallEnded(t, sub)

	cookie := vmLogin(t, base)
	if !strings.HasPrefix(cookie, "PHPSESSID=") {
		t.Fatalf("cookie %s", cookie)
	}
	today := time.Now().In(mustZone(t, "Europe/Warsaw")).Format("2006-01-02")
	code, body, _ := vmDo(t, "POST", base+"/php/model/sql.php?task=LISTING&module=CDR&fdatefrom="+today+"T00:00:00&fcaller=2001", cookie, "", "")
	var list struct {
		Total   string               `json:"total"`
		Results []map[string]*string `json:"results"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || list.Total != "2" || len(list.Results) != 2 {
		t.Fatalf("listing: %d %s", code, body)
	}
	row := list.Results[1] // newest first: the busy call, then the answered one
	if v := row["called"]; v == nil || *v != "1001" {
		t.Fatalf("row order: %s", body)
	}
	want := map[string]string{"caller": "2001", "callername": "Phone 2001", "caller_domain": "mojacentrala.local", "lastSIPresponseNum": "200",
		"lastSIPresponse": "200 OK", "a_payload": "0", "b_payload": "0", "sipcallerip": "127.0.0.1", "a_saddr": "127.0.0.1", "b_saddr": "127.0.0.1",
		"fbasename": cdr.CallID, "id_sensor": "1"}
	for k, v := range want {
		if row[k] == nil || *row[k] != v {
			t.Errorf("%s = %v, want %s", k, deref(row[k]), v)
		}
	}
	for _, k := range []string{"a_received", "b_received", "a_mos_f1", "b_mos_f1", "callid_b", "a_sport", "b_daddr"} {
		if row[k] == nil || *row[k] == "" || *row[k] == "0" {
			t.Errorf("%s = %v", k, deref(row[k]))
		}
	}
	if busy := list.Results[0]; deref(busy["lastSIPresponseNum"]) != "486" || busy["a_mos_f1"] != nil {
		t.Errorf("busy row: %v %v", deref(busy["lastSIPresponseNum"]), deref(busy["a_mos_f1"]))
	}
	// The call's Call-ID finds it; so does a form POST with suppress_results.
	form := url.Values{"task": {"LISTING"}, "module": {"CDR"}, "fdatefrom": {today + " 00:00:00"}, "fcallid": {cdr.CallID}, "suppress_results": {"1"}}
	if code, body, _ := vmDo(t, "POST", base+"/php/model/sql.php", cookie, "application/x-www-form-urlencoded", form.Encode()); code != 200 || body != `{"total":"1"}`+"\n" {
		t.Fatalf("suppress_results: %d %q", code, body)
	}
	code, body, _ = vmDo(t, "GET", base+"/php/model/sql.php?module=CDR_stats&group_by=4&limit=-1&fdatefrom="+today, cookie, "", "")
	var stats struct {
		Results []map[string]*string `json:"results"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &stats) != nil || len(stats.Results) != 2 {
		t.Fatalf("stats: %d %s", code, body)
	}
	for _, g := range stats.Results {
		if deref(g["lastSIPresponseNum"]) == "200" && (deref(g["cnt_all"]) != "1" || deref(g["asr_all"]) != "100.0000" || deref(g["lastSIPresponse"]) != "200 OK") {
			t.Errorf("200 group: %s", body)
		}
		if deref(g["lastSIPresponseNum"]) == "486" && (deref(g["id"]) != "486 Busy Here" || deref(g["asr_all"]) != "0.0000" || g["cnt_ok"] != nil) {
			t.Errorf("486 group: %s", body)
		}
	}
	// reportSummary: the demo's "test summary" (all CDRs) over today.
	code, body, _ = vmDo(t, "POST", base+"/php/api.php", "", "", `{"task": "reportSummary", "user": "voipmonitor", "password": "voipmonitor", "params": {"report_name": "Test Summary", "datetime_from": "`+today+`", "datetime_to": "`+today+`"}}`)
	if code != 200 || !strings.Contains(body, `"totals":{"cnt_all":"2","cnt_answered":"1"`) || !strings.Contains(body, `"lastSIPresponse":"486 Busy Here"`) {
		t.Errorf("reportSummary: %d %s", code, body)
	}
	code, body, _ = vmDo(t, "POST", base+"/php/api.php", "", "", `{"task": "reportSummary", "user": "voipmonitor", "password": "voipmonitor", "params": {"report_name": "test summary", "datetime_from": "`+today+`", "datetime_to": "`+today+`", "json": false}}`)
	if code != 200 || !strings.Contains(body, "<td>200 OK</td>") {
		t.Errorf("reportSummary HTML: %d %.300s", code, body)
	}
	if code, _, _ := vmDo(t, "POST", base+"/php/api.php", "", "", `{"task": "reportSummary", "user": "voipmonitor", "password": "voipmonitor", "params": {"report_name": "no such", "datetime_from": "`+today+`", "datetime_to": "`+today+`"}}`); code != 404 {
		t.Errorf("unknown report: %d", code)
	}
	// admin.php?cdr_filter (the spec's object literal) and the SIP ladder.
	code, body, _ = vmDo(t, "GET", base+`/admin.php?cdr_filter={fcallid:"`+cdr.CallID+`"}`, cookie, "", "")
	if code != 200 || !strings.Contains(body, "<p>1 CDRs</p>") || !strings.Contains(body, cdr.CallID) || !strings.Contains(body, "/php/pcap.php?id=") {
		t.Errorf("admin.php: %d %.400s", code, body)
	}
	if code, body, _ := vmDo(t, "GET", base+`/admin.php?cdr_filter={fcallid:"x"}`, "", "", ""); code != 401 || strings.Contains(body, "<tr><td>") {
		t.Errorf("admin.php without a session: %d %.200s", code, body)
	}
	code, body, _ = vmDo(t, "GET", base+"/php/pcap2text.php?action=getMSC&id="+deref(row["ID"]), cookie, "", "")
	if code != 200 || !strings.Contains(body, "INVITE sip:1001@") || !strings.Contains(body, `class="arrow"`) || !strings.Contains(body, "&#9664; SIP/2.0 200 OK") {
		t.Errorf("getMSC: %d %.600s", code, body)
	}
	// CDR_stats as clients in the wild send it: a multipart POST with
	// needColumns, limit -1 and the sensor.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range map[string]string{"module": "CDR_stats", "group_by": "4", "limit": "-1", "fsensor_id": "1", "fdatefrom": today + " 00:00:00",
		"needColumns": `["lastSIPresponseNum","cnt_all","duration_all","acd_all","asr_all","mos_all"]`} {
		_ = mw.WriteField(k, v)
	}
	mw.Close()
	code, body, _ = vmDo(t, "POST", base+"/php/model/sql.php", cookie, mw.FormDataContentType(), mp.String())
	if code != 200 || !strings.Contains(body, `"lastSIPresponseNum":"486"`) || !strings.Contains(body, `"total":"2"`) {
		t.Errorf("multipart CDR_stats: %d %s", code, body)
	}
	// Without a date, with a stale cookie, with a wrong password.
	if code, body, _ := vmDo(t, "GET", base+"/php/model/sql.php?task=LISTING&module=CDR&fcaller=2001", cookie, "", ""); code != 400 || !strings.Contains(body, "fdatefrom or fdateto is required") {
		t.Errorf("no date: %d %s", code, body)
	}
	if code, body, _ := vmDo(t, "GET", base+"/php/model/sql.php?task=LISTING&module=CDR&fdatefrom="+today, "PHPSESSID=stale", "", ""); code != 401 || !strings.Contains(body, `"success":false`) {
		t.Errorf("stale cookie: %d %s", code, body)
	}
	if code, body, _ := vmDo(t, "GET", base+"/php/model/sql.php?module=bypass_login&user=voipmonitor&pass=wrong", "", "", ""); code != 401 || !strings.Contains(body, `"reason":"wrong user or password`) {
		t.Errorf("wrong password: %d %s", code, body)
	}
}

// TestVoIPmonitorBlockedUser: a blocked account with the right password
// gets 403 and the operator's reason (VoIPmonitor's blocked_reason), a
// wrong password still the plain 401.
func TestVoIPmonitorBlockedUser(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Tenants[0].Users = append(c.Tenants[0].Users, config.User{Name: "auditor", Password: "s3cret-pass", Role: "readonly", Disabled: "contract ended"})
	})
	base := "http://" + n.HTTPAddr().String()
	code, body, _ := vmDo(t, "POST", base+"/php/model/sql.php?module=bypass_login&user=auditor&pass=s3cret-pass", "", "", "")
	if code != 403 || !strings.Contains(body, `"reason":"user is blocked: contract ended"`) {
		t.Fatalf("blocked: %d %s", code, body)
	}
	if code, body, _ := vmDo(t, "POST", base+"/php/api.php", "", "", `{"task":"listCdrIds","user":"auditor","password":"nope"}`); code != 401 || strings.Contains(body, "contract") {
		t.Fatalf("blocked, wrong password: %d %s", code, body)
	}
}

// TestVoIPmonitorRights: a readonly account (can_cdr, can_play_audio,
// no can_pcap) lists CDRs but gets the dialect's 403, and no data, from
// every PCAP and SIP-history route and from RTP shares; a user-role
// account (no can_cdr) from the CDR filter.
func TestVoIPmonitorRights(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Tenants[0].Users = append(c.Tenants[0].Users, config.User{Name: "viewer", Password: "viewer-pass", Role: "readonly"})
	})
	now := time.Now()
	if err := n.store.BulkInsert(context.Background(), []pbx.CDR{{Tenant: "MojaCentrala", CallDate: now, EndDate: now, Src: "2001", Dst: "1001",
		CallID: "rights-call", UniqueID: "1.5"}}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.HTTPAddr().String()
	login := func(user, pass string) string {
		_, body, _ := vmDo(t, "POST", base+"/php/model/sql.php?module=bypass_login&user="+user+"&pass="+pass, "", "", "")
		var l struct{ SID string }
		_ = json.Unmarshal([]byte(body), &l)
		return "PHPSESSID=" + l.SID
	}
	viewer := login("viewer", "viewer-pass")
	today := now.In(mustZone(t, "Europe/Warsaw")).Format("2006-01-02")
	if code, body, _ := vmDo(t, "GET", base+"/php/model/sql.php?task=LISTING&module=CDR&fdatefrom="+today+"&suppress_results=1", viewer, "", ""); code != 200 || !strings.Contains(body, `"total":"1"`) {
		t.Fatalf("viewer LISTING: %d %s", code, body)
	}
	for _, path := range []string{"/php/pcap.php?id=1", "/php/pcap.php?id=1&disable_rtp=1", "/php/pcap2text.php?action=brief_data&id=1", "/php/pcap2text.php?action=getMSC&id=1"} {
		if code, body, _ := vmDo(t, "GET", base+path, viewer, "", ""); code != 403 || !strings.Contains(body, "permission denied") {
			t.Errorf("viewer %s: %d %.100s", path, code, body)
		}
	}
	for _, params := range []string{`{"callId":"rights-call"}`, `{"callId":"rights-call","rtp":true}`} {
		task := "getPCAP"
		if strings.Contains(params, "rtp") {
			task = "getShareURL"
		}
		code, body, _ := vmDo(t, "POST", base+"/php/api.php", "", "", `{"task":"`+task+`","user":"viewer","password":"viewer-pass","params":`+params+`}`)
		if code != 403 || !strings.Contains(body, "permission denied") {
			t.Errorf("viewer %s: %d %.100s", task, code, body)
		}
	}
	f := url.Values{"task": {"shareCdr"}, "params": {`{"type":"share_cdr_show","type2":"rtp","subType":"share_link","id":[1],"emailFields":null}`}}
	if code, body, _ := vmDo(t, "POST", base+"/php/model/utilities.php", viewer, "application/x-www-form-urlencoded", f.Encode()); code != 403 {
		t.Errorf("viewer rtp share: %d %s", code, body)
	}
	user := login("2001", "demo")
	for _, path := range []string{"/php/model/sql.php?task=LISTING&module=CDR&fdatefrom=" + today, "/php/model/sql.php?module=CDR_stats&group_by=4", `/admin.php?cdr_filter={fcaller:"2001"}`} {
		if code, body, _ := vmDo(t, "GET", base+path, user, "", ""); code != 403 || strings.Contains(body, "rights-call") {
			t.Errorf("user %s: %d %.100s", path, code, body)
		}
	}
}

// TestVoIPmonitorOpenAPI: with "disable authorization for API usage"
// (open_api_tenant), requests without credentials act as the configured
// role of that tenant; credentials presented are still checked; without
// the option (the default) they are refused.
func TestVoIPmonitorOpenAPI(t *testing.T) {
	yes := true
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Dialects["voipmonitor"] = config.Dialect{Enabled: &yes, Options: map[string]string{"open_api_tenant": "MojaCentrala"}}
	})
	base := "http://" + n.HTTPAddr().String()
	if code, body, _ := vmDo(t, "POST", base+"/php/api.php", "", "", `{"task":"listCdrIds","params":{"offset":"1","size":"5"}}`); code != 200 || !strings.Contains(body, `"total":"0"`) {
		t.Fatalf("no credentials: %d %s", code, body)
	}
	if code, body, _ := vmDo(t, "GET", base+"/php/model/sql.php?task=LISTING&module=CDR&fdatefrom=2013-05-08", "", "", ""); code != 200 {
		t.Fatalf("LISTING without a session: %d %s", code, body)
	}
	if code, body, _ := vmDo(t, "POST", base+"/php/api.php", "", "", `{"task":"getPCAP","params":{"callId":"x"}}`); code != 403 {
		t.Fatalf("readonly getPCAP: %d %s", code, body)
	}
	if code, _, _ := vmDo(t, "POST", base+"/php/api.php", "", "", `{"task":"listCdrIds","user":"voipmonitor","password":"wrong"}`); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _, _ := vmDo(t, "GET", base+"/php/model/sql.php?task=LISTING&module=CDR&fdatefrom=2013-05-08", "PHPSESSID=stale", "", ""); code != 401 {
		t.Fatalf("stale session: %d", code)
	}
	closed := startDemo(t)
	if code, _, _ := vmDo(t, "POST", "http://"+closed.HTTPAddr().String()+"/php/api.php", "", "", `{"task":"listCdrIds"}`); code != 401 {
		t.Fatalf("default, no credentials: %d", code)
	}
}

// TestVoIPmonitorUnderAPrefix: the spec's /demo GUI: the cookie is
// PHPSESSID-demo and the paths answer only under the prefix.
func TestVoIPmonitorUnderAPrefix(t *testing.T) {
	yes := true
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Dialects = map[string]config.Dialect{"native": {Enabled: &yes}, "voipmonitor": {Enabled: &yes, Prefix: "/demo"}}
	})
	base := "http://" + n.HTTPAddr().String()
	cookie := vmLogin(t, base+"/demo")
	if !strings.HasPrefix(cookie, "PHPSESSID-demo=") {
		t.Fatalf("cookie %s", cookie)
	}
	code, body, _ := vmDo(t, "POST", base+"/demo/php/model/sql.php?task=LISTING&module=CDR&fdatefrom=2013-05-08T00:00:00&fcaller=190", cookie, "", "")
	if code != 200 || body != `{"total":"0","results":[]}`+"\n" {
		t.Fatalf("listing: %d %s", code, body)
	}
	// The unprefixed cookie name is another GUI's session.
	plain := "PHPSESSID=" + strings.TrimPrefix(cookie, "PHPSESSID-demo=")
	if code, _, _ := vmDo(t, "POST", base+"/demo/php/model/sql.php?task=LISTING&module=CDR&fdatefrom=2013-05-08", plain, "", ""); code != 401 {
		t.Fatalf("plain cookie under /demo: %d", code)
	}
	if code, _, _ := vmDo(t, "POST", base+"/php/model/sql.php?module=bypass_login&user=voipmonitor&pass=voipmonitor", "", "", ""); code != 404 {
		t.Fatalf("unprefixed path: %d", code)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
