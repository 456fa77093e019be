package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// specExamples are the spec's curl and `echo ... | php api.php` examples
// as printed (USER/PASSWORD are the demo account's; host changed), with
// what each must answer: the spec's ids (cdr 4919, call XXXX...) do not
// exist on a fresh demo, so those answer the dialect's not-found JSON.
var specExamples = []struct {
	method, path, body string
	status             int
	contains           string
}{
	{"POST", "/php/model/sql.php?module=bypass_login&user=voipmonitor&pass=voipmonitor", "", 200, `"cookie_name":"PHPSESSID","success":true,"_vm_version":240034,"_debug":false`},
	{"POST", "/php/model/sql.php?task=LISTING&module=CDR&fdatefrom=2013-05-08T00:00:00&fcaller=190", "", 200, `{"total":"0","results":[]}`},
	{"POST", "/php/api.php", `{"task": "getVoipCalls", "user": "USER", "password": "PASSWORD", "params": {"startTime": "2013-01-01", "endTime": "2013-08-01", "caller": "910251414", "customHeaders": "Cell-ID-Caller,Cell-ID-Called"}}`, 200, `{"total":"0","rows":[]}`},
	{"POST", "/php/api.php", `{"task": "getVoipCalls", "user": "USER", "password": "PASSWORD", "params": [{"startTime": "2013-01-01", "endTime": "2013-08-01", "caller": "910251414"},{"startTime": "2013-01-01", "endTime": "2013-08-01", "caller": "910251415", "customHeaders": "Cell-ID-Caller,Cell-ID-Called"}]}`, 200, `{"total":"0","rows":[]}`},
	{"GET", `/php/api.php?task=getVoipCalls&user=USER&password=PASSWORD¶ms={"startTime":"2013-01-01","endTime":"2013-08-01","caller":"910251414","customHeaders":"Cell-ID-Caller,Cell-ID-Called"}}`, "", 200, `{"total":"0","rows":[]}`},
	{"GET", `/php/api.php?task=getVoipCalls&user=USER&password=PASSWORD¶ms=[{"startTime":"2013-01-01","endTime":"2013-08-01","caller":"910251414"},{"startTime":"2013-01-01","endTime":"2013-08-01","caller":"910251415","customHeaders":"Cell-ID-Caller,Cell-ID-Called"}]`, "", 200, `{"total":"0","rows":[]}`},
	{"POST", "/php/api.php", `{"task": "getVoiceRecording", "user": "USER", "password": "PASSWORD", "params": {"cdrId": "4919"}}`, 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getVoiceRecording&user=USER&password=PASSWORD¶ms={"cdrId":4919}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getVoiceRecording&user=USER&password=PASSWORD¶ms={"cdrId":4919,"saveaudio_afterconnect":"yes"}`, "", 404, `"reason":"not found"`},
	{"POST", "/php/api.php", `{"task": "getVoiceRecording", "user": "USER", "password": "PASSWORD", "params": {"callId": "XXXXXXXXXXXXXXXXXXXXXX"}}`, 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getVoiceRecording&user=USER&password=PASSWORD¶ms={"callId":"XXXXXXXXXXXXXXXXXXXXXX"}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getVoiceRecording&user=USER&password=PASSWORD¶ms={"callId":"XXXXXXXXXXXXXXXXXXXXXX","cidInterval":10}`, "", 404, `"reason":"not found"`},
	{"POST", "/php/api.php", `{"task": "listActiveCalls", "user": "USER", "password": "PASSWORD", "params": {"sensorId": "1"}}`, 200, `{"total":"0","rows":[]}`},
	{"GET", `/php/api.php?task=listActiveCalls&user=USER&password=PASSWORD¶ms={"sensorId":"1"}`, "", 200, `{"total":"0","rows":[]}`},
	{"POST", "/php/api.php", `{"task": "handleActiveCall", "user": "USER", "password": "PASSWORD", "params": {"sensorId": "1","command":"pausecall","callRef":"0x7f0e4c3c2680"}}`, 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=handleActiveCall&user=USER&password=PASSWORD¶ms={"sensorId":"1","command":"pausecall","callRef":"0x7f0e4c3c2680"}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getPCAP&user=USER&password=PASSWORD¶ms={"callId":"1502262225"}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getPCAP&user=USER&password=PASSWORD¶ms={"callId":"1502262225","cidInterval":60}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getPCAP&user=USER&password=PASSWORD¶ms={"callId":"1502262225","cidInterval":60,"cidMerge":true}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getPCAP&user=USER&password=PASSWORD¶ms={"callId":"1502262225","cidInterval":60,"cidMerge":true,"zip":true}`, "", 404, `"reason":"not found"`},
	{"POST", "/php/api.php", `{"task": "listCdrIds", "user": "USER", "password": "PASSWORD", "params": {"offset":"offset_num","size":"number of cdr records"}}`, 400, `"reason":"offset: an integer`},
	{"GET", `/php/api.php?task=listCdrIds&user=USER&password=PASSWORD¶ms={"offset":"1","size":"10"}`, "", 200, `{"total":"0","rows":[]}`},
	{"POST", "/php/api.php", `{"task": "reportSummary", "user": "USER", "password": "PASSWORD", "params": {"report_name": "test summary", "datetime_from": "2017-12-20", "datetime_to": "2017-12-20"}}`, 200, `"datetime_from":"2017-12-20 00:00:00","datetime_to":"2017-12-20 23:59:59","report_name":"test summary","results":[],"success":true,"totals":{"cnt_all":"0"`},
	{"GET", `/php/api.php?task=reportSummary&user=USER&password=PASSWORD¶ms={"report_name":"test summary","datetime_from":"2017-12-20","datetime_to":"2017-12-20"}`, "", 200, `"report_name":"test summary"`},
	{"GET", `/php/api.php?task=getShareURL&user=USER&password=PASSWORD¶ms={"callId":"1502262225","cidInterval":60,"rtp":true}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getShareURL&user=USER&password=PASSWORD¶ms={"callId":"1502262225","rtp":true}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getShareURL&user=USER&password=PASSWORD¶ms={"callId":"1502262225","cidInterval":60}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getShareURL&user=USER&password=PASSWORD¶ms={"callId":"1502262225"}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getShareURL&user=USER&password=PASSWORD¶ms={"callId":"1502262225","cidInterval":60, "sip_history": true}`, "", 404, `"reason":"not found"`},
	{"GET", `/php/api.php?task=getShareURL&user=USER&password=PASSWORD¶ms={"callId":"1502262225","sip_history": true}`, "", 404, `"reason":"not found"`},
	{"POST", "/php/model/utilities.php", `task=shareCdr¶ms={"type":"share_cdr_show","type2":null,"subType":"self_protected_link","id":[128024514],"emailFields":null}`, 404, `"reason":"not found"`},
	{"POST", "/php/model/utilities.php", `task=shareCdr¶ms={"type":"share_cdr_show","type2":null,"subType":"self_login_link","id":[128024514],"emailFields":null}`, 404, `"reason":"not found"`},
	{"POST", "/php/model/utilities.php", `task=shareCdr¶ms={"type":"share_cdr_show","type2":null,"subType":"share_link","id":[128024590],"emailFields":null}`, 404, `"reason":"not found"`},
	{"GET", "/php/pcap.php?id=203800251", "", 404, `"reason":"not found"`},
	{"GET", "/php/pcap.php?id=203800251&disable_rtp=1", "", 404, `"reason":"not found"`},
	{"POST", "/php/pcap2text.php?action=brief_data&id=677&dns_lookup=0&ip_not_allowed=10.1.1.1,10.2.2.0/24", "", 404, `"reason":"not found"`},
	{"POST", "/php/pcap2text.php?action=brief&id=677&dns_lookup=0&ip_not_allowed=10.1.1.1,10.2.2.0/24", "", 404, `"reason":"not found"`},
	{"POST", "/php/pcap2text.php?action=getMSC&id=677&dns_lookup=0&ip_not_allowed=10.1.1.1,10.2.2.0/24", "", 404, "not found"},
	{"GET", `/admin.php?cdr_filter={fcallid:"uDR8mtloKFa1F8625VL2OXSFp.RuG73v"}`, "", 200, "<p>0 CDRs</p>"},
	{"GET", "/php/apilicensecheck.php?task=licenseCheck", "", 200, `{"status":0,"message":"License OK."}`},
	{"GET", "/php/apilicensecheck.php?task=licenseCallsLimitCheck", "", 200, `"status":0`},
}

// TestVoIPmonitorSpecExamples replays the spec's examples as HTTP
// requests (the GUI ones with the session bypass_login opened) and checks
// each answer's status and shape.
func TestVoIPmonitorSpecExamples(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	cookie := vmLogin(t, base)
	for _, ex := range specExamples {
		path := strings.NewReplacer("USER", "voipmonitor", "PASSWORD", "voipmonitor").Replace(ex.path)
		body := strings.NewReplacer(`"USER"`, `"voipmonitor"`, `"PASSWORD"`, `"voipmonitor"`).Replace(ex.body)
		// What curl sends for the printed URL: the raw bytes, with only
		// what a URL cannot hold (spaces, quotes, braces) escaped.
		u, err := url.Parse(base + path)
		if err != nil {
			t.Fatalf("%s: %v", ex.path, err)
		}
		u.RawQuery = url.PathEscape(u.RawQuery)
		u.RawQuery = strings.NewReplacer("%26", "&", "%3D", "=").Replace(u.RawQuery)
		ct := "" // curl -d sends a form unless told otherwise; api.php reads JSON either way
		if body != "" && !strings.HasPrefix(body, "{") {
			ct = "application/x-www-form-urlencoded"
		}
		code, got, _ := vmDo(t, ex.method, u.String(), cookie, ct, body)
		if code != ex.status || !strings.Contains(got, ex.contains) {
			t.Errorf("%s %s %.80s: %d %s", ex.method, ex.path, ex.body, code, got)
		}
	}
}

// TestVoIPmonitorFilterInjection: every filter of the CDR form, given SQL
// metacharacters, JSON, paths and huge values (as a POST form, as
// clients send long filters), answers 200 or the dialect's 400, never a
// 500, and never more rows than the date range holds; the table is intact
// afterwards. Ids that look like paths serve nothing.
func TestVoIPmonitorFilterInjection(t *testing.T) {
	n := startDemo(t)
	base := "http://" + n.HTTPAddr().String()
	now := time.Now()
	var rows []pbx.CDR
	for i := range 40 {
		rows = append(rows, pbx.CDR{Tenant: "MojaCentrala", CallDate: now.Add(-time.Duration(i) * time.Minute), EndDate: now,
			Src: fmt.Sprint(3000 + i), Dst: "1001", Duration: i, LastSIPResponse: 200, Codec: "PCMU", CallID: fmt.Sprint("cid-", i), UniqueID: fmt.Sprint("9", i)})
	}
	rows = append(rows, pbx.CDR{Tenant: "other", CallDate: now, EndDate: now, Src: "3000", Dst: "1"})
	if err := n.store.BulkInsert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	cookie := vmLogin(t, base)
	today := now.Add(-2 * time.Hour).In(mustZone(t, "Europe/Warsaw")).Format("2006-01-02 15:04:05")
	total := func(extra url.Values) (int, int, string) {
		f := url.Values{"task": {"LISTING"}, "module": {"CDR"}, "fdatefrom": {today}, "suppress_results": {"1"}}
		for k, v := range extra {
			f[k] = v
		}
		code, body, _ := vmDo(t, "POST", base+"/php/model/sql.php", cookie, "application/x-www-form-urlencoded", f.Encode())
		var r struct {
			Total string `json:"total"`
		}
		_ = json.Unmarshal([]byte(body), &r)
		var nrows int
		fmt.Sscan(r.Total, &nrows)
		return code, nrows, body
	}
	if code, all, body := total(nil); code != 200 || all != 40 {
		t.Fatalf("baseline: %d %s", code, body)
	}
	filters := []string{"fdateto", "fcaller", "fcalled", "fcallerd_type", "fcaller_domain", "fcalled_domain", "fcallerd_domain_type",
		"fcallername", "fsipcallerip", "fsipcalledip", "fsipcallerdip_type", "fa_saddr", "fb_saddr", "fab_saddr_type", "fcodec",
		"fdurationgt", "fdurationlt", "fpddgt", "fpddlt", "fsipresponse", "fbye", "ftrunk", "fa_ua", "fb_ua", "fab_ua_type", "fcallid",
		"fsensor_id", "page", "start", "limit", "sort", "orderByLoss", "orderByCallDuration_desc", "frtcp_maxjitter", "frtcp_avgjitter",
		"frtcp_maxfr", "frtcp_avgfr", "fmosf1", "fmosf2", "fmosadapt", "f_d50", "f_d300", "floss1", "floss10", "ffilterTemplate", "suppress_results"}
	evil := []string{"' OR '1'='1", "1; DROP TABLE cdr; --", "%' OR 1=1 --", "3000' --", "\") OR (\"1\"=\"1", "\x00", "1e309", "NaN", "-1",
		`[{"property":"calldate2; DROP TABLE cdr","direction":"DESC"}]`, "../../etc/passwd", strings.Repeat("9", 100000), strings.Repeat("%,", 5000)}
	for _, name := range filters {
		for _, v := range evil {
			code, got, body := total(url.Values{name: {v}})
			if code != 200 && code != 400 {
				t.Errorf("%s=%.30q: %d %.200s", name, v, code, body)
			}
			if code == 400 && !strings.Contains(body, `"success":false`) {
				t.Errorf("%s=%.30q: 400 without the dialect's error: %.200s", name, v, body)
			}
			if code == 200 && got > 40 {
				t.Errorf("%s=%.30q: %d rows, more than the range holds", name, v, got)
			}
		}
	}
	if code, all, body := total(nil); code != 200 || all != 40 {
		t.Fatalf("after the injections: %d %s", code, body)
	}
	for _, id := range []string{"../../etc/passwd", "1/../../x", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "1.pcap", "-1", "0x1"} {
		code, body, _ := vmDo(t, "GET", base+"/php/pcap.php?id="+id, cookie, "", "")
		if code != 400 || !strings.Contains(body, `"success":false`) {
			t.Errorf("pcap.php?id=%s: %d %.100s", id, code, body)
		}
	}
	for _, params := range []string{`{"cdrId":"../../etc/passwd"}`, `{"callId":"../../etc/passwd"}`, `{"callId":"/etc/passwd","cidInterval":60,"cidMerge":true}`} {
		for _, task := range []string{"getPCAP", "getVoiceRecording"} {
			code, body, _ := vmDo(t, "POST", base+"/php/api.php", "", "", `{"task":"`+task+`","user":"voipmonitor","password":"voipmonitor","params":`+params+`}`)
			if (code != 400 && code != 404) || !strings.Contains(body, `"success":false`) || strings.Contains(body, "root:") {
				t.Errorf("%s %s: %d %.100s", task, params, code, body)
			}
		}
	}
}

// TestVoIPmonitorCallsLimit: licenseCallsLimitCheck reports the configured
// limit against the tenant's live calls.
func TestVoIPmonitorCallsLimit(t *testing.T) {
	yes := true
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		c.Dialects["voipmonitor"] = config.Dialect{Enabled: &yes, Options: map[string]string{"calls_limit": "0"}}
	})
	base := "http://" + n.HTTPAddr().String()
	code, body, _ := vmDo(t, "GET", base+"/php/apilicensecheck.php?task=licenseCallsLimitCheck&user=voipmonitor&password=voipmonitor", "", "", "")
	if code != 200 || !strings.Contains(body, `"status":0`) || !strings.Contains(body, "No concurrent calls limit") {
		t.Fatalf("no limit: %d %s", code, body)
	}
	if code, _, _ := vmDo(t, "GET", base+"/php/apilicensecheck.php?task=licenseCallsLimitCheck", "", "", ""); code != 401 {
		t.Fatalf("anonymous calls limit: %d", code)
	}
}
