package cloudpbx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestErrorStatus pins the one mapping from errors to what a client sees,
// and /dial's narrower one.
func TestErrorStatus(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	for _, tc := range []struct {
		err        error
		status     int
		msg        string
		dialStatus int
		dialMsg    string
		smsMsg     string // "": the route's own answer; else RESPONSE FAILED 500 with this
	}{
		{wrap(errParameter), 400, "Parameter is missing", 500, "Action Error", ""},
		{wrap(pbx.ErrInvalidArgument), 400, "Parameter is missing", 500, "Action Error", ""},
		{wrap(store.ErrInvalidFilter), 400, "Parameter is missing", 500, "Action Error", ""},
		{wrap(auth.ErrBadCredentials), 401, "Unauthorized", 401, "Unauthorized", ""},
		{wrap(auth.ErrAddressNotAllowed), 401, "Unauthorized", 401, "Unauthorized", ""},
		{wrap(auth.ErrLockedOut), 429, "Too Many Requests", 429, "Too Many Requests", ""},
		{wrap(dialect.ErrForbidden), 403, "Forbidden", 403, "Forbidden", ""},
		{wrap(pbx.ErrUnknownTenant), 403, "Forbidden", 403, "Forbidden", ""},
		{wrap(pbx.ErrNotFound), 404, "Not Found", 500, "Action Error", "SMS could not be queued"},
		{wrap(store.ErrNotFound), 404, "Not Found", 500, "Action Error", "SMS could not be queued"},
		{wrap(pbx.ErrUnknownExten), 500, "Internal Server Error", 500, "Action Error", "SMS could not be queued"},
		{wrap(pbx.ErrUnavailable), 500, "Internal Server Error", 500, "Action Error", "SMS could not be queued"},
		{wrap(pbx.ErrBusy), 500, "Internal Server Error", 500, "Action Error", "SMS could not be queued"},
		{wrap(pbx.ErrLimit), 500, "Internal Server Error", 500, "Action Error", "SMS could not be queued"},
		{wrap(pbx.ErrNotSupported), 501, "Not Implemented", 500, "Action Error", "SMS gateway is not available on this PBX"},
		{wrap(pbx.ErrShuttingDown), 503, "Service Unavailable", 500, "Action Error", "PBX is restarting, try again"},
		{wrap(context.DeadlineExceeded), 503, "Service Unavailable", 500, "Action Error", "SMS could not be queued"},
		{errors.New("disk on fire"), 500, "Internal Server Error", 500, "Action Error", "SMS could not be queued"},
	} {
		if s, m := errorStatus(tc.err); s != tc.status || m != tc.msg {
			t.Errorf("errorStatus(%v) = %d %q, want %d %q", tc.err, s, m, tc.status, tc.msg)
		}
		if s, m := dialStatus(tc.err); s != tc.dialStatus || m != tc.dialMsg {
			t.Errorf("dialStatus(%v) = %d %q, want %d %q", tc.err, s, m, tc.dialStatus, tc.dialMsg)
		}
		s, m, resp := smsStatus(tc.err)
		if tc.smsMsg == "" && (resp || s != tc.status || m != tc.msg) || tc.smsMsg != "" && (!resp || s != 500 || m != tc.smsMsg) {
			t.Errorf("smsStatus(%v) = %d %q %v, want %q", tc.err, s, m, resp, tc.smsMsg)
		}
	}
}

// TestAuth: a missing, malformed, wrong or other credential kind is 401 in
// the spec's style on every route; a key without the right is 403; a key
// sees only its own PBX's records.
func TestAuth(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	for _, path := range []string{"/cdr", "/record", "/record/1639563902.75", "/dial?cpa=101&cpb=200"} {
		for _, authz := range []string{"", "Bearer", "Bearer ", "Bearer nosuchkey", "bearer " + apiKey, "Basic YWRtaW46YWRtaW4=", "Session x", apiKey} {
			res, body := f.do(t, "GET", path, authz, "", "")
			if res.StatusCode != 401 || body != "Unauthorized" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("GET %s with %q: %d %q", path, authz, res.StatusCode, body)
			}
		}
	}
	if res, body := f.do(t, "POST", "/sendSMS", "", "application/x-www-form-urlencoded", "to=600100200&body=x"); res.StatusCode != 401 {
		t.Errorf("anonymous sendSMS: %d %s", res.StatusCode, body)
	}
	for _, path := range []string{"/cdr", "/record/1639563902.75"} {
		if res, body := f.do(t, "GET", path, "Bearer NoCDRKey0123456", "", ""); res.StatusCode != 403 || body != "Forbidden" {
			t.Errorf("GET %s without the right: %d %q", path, res.StatusCode, body)
		}
	}
	if res, body := f.do(t, "GET", "/dial?cpa=101&cpb=200", "Bearer ReadOnlyKey0123", "", ""); res.StatusCode != 403 {
		t.Errorf("dial by a readonly key: %d %q", res.StatusCode, body)
	}
	if len(f.eng.orig) != 0 {
		t.Fatalf("refused requests originated %v", f.eng.orig)
	}
	// Tenancy: the other PBX's key sees its own CDR and recording only.
	res, body := f.do(t, "GET", "/cdr", "Bearer OtherKey0123456", "", "")
	if res.StatusCode != 200 || !strings.Contains(body, "other.1") || strings.Contains(body, "1639563902.75") {
		t.Fatalf("other tenant's /cdr: %d %s", res.StatusCode, body)
	}
	if res, body := f.do(t, "GET", "/record/1639563902.75", "Bearer OtherKey0123456", "", ""); res.StatusCode != 404 {
		t.Fatalf("another tenant's recording: %d %s", res.StatusCode, body)
	}
}

// TestBadInput: bad dates, ranges, parameters, unknown routes, path tricks
// and huge bodies get the spec's errors, never a panic or a 200.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	key := "Bearer " + apiKey
	for _, q := range []string{
		"datestart=2021-13-01", "datestart=2021-02-30", "datestart=21-10-01", "datestart=2021-1-01", "datestart=2021/10/01",
		"datestart=2021-10-01T00:00:00", "datestop=abc", "datestart=2021-10-07&datestop=2021-10-01",
		"datestart=2020-01-01&datestop=2021-12-31", "datestart=1969-12-31",
		"datestart=" + url.QueryEscape("2021-10-01' OR '1'='1"), "datestart=" + url.QueryEscape("2021-10-01;DROP TABLE cdr"),
		"datestart=2021-10-01&datestart=2021-10-02", "datestart=%E2%80%A8", "datestart=０２０２１-10-01",
	} {
		for _, path := range []string{"/cdr?", "/record?"} {
			res, body := f.do(t, "GET", path+q, key, "", "")
			if res.StatusCode != 400 || body != "Parameter is missing" {
				t.Errorf("GET %s%s: %d %q", path, q, res.StatusCode, body)
			}
		}
	}
	// The same date twice is no ambiguity; unknown parameters are ignored.
	if res, body := f.do(t, "GET", "/cdr?datestart=2021-12-15&datestart=2021-12-15&foo=bar", key, "", ""); res.StatusCode != 200 || !strings.Contains(body, "1639563902.75") {
		t.Errorf("repeated equal dates: %d %s", res.StatusCode, body)
	}
	// Only datestart: that day.
	if res, body := f.do(t, "GET", "/cdr?datestart=2021-10-03", key, "", ""); res.StatusCode != 200 || !strings.Contains(body, "1633240800.1") || strings.Contains(body, "1633642200.2") {
		t.Errorf("datestart alone: %d %s", res.StatusCode, body)
	}
	// A day with nothing is an empty array, not null.
	if res, body := f.do(t, "GET", "/cdr?datestart=2000-01-01", key, "", ""); res.StatusCode != 200 || body != "[]" {
		t.Errorf("empty day: %d %s", res.StatusCode, body)
	}
	for _, path := range []string{"/record/nosuch", "/record/..%2F..%2Fetc%2Fpasswd", "/record/%2e%2e", "/record/1639563902.75%00",
		"/record/" + strings.Repeat("9", 65), "/record/..", "/nosuch", "/cdr/x", "/ws/", "/dial/x"} {
		res, body := f.do(t, "GET", path, key, "", "")
		if res.StatusCode != 404 && res.StatusCode != 401 {
			t.Errorf("GET %s: %d %q", path, res.StatusCode, body)
		}
		if res.StatusCode == 200 {
			t.Errorf("GET %s served %q", path, body)
		}
	}
	if res, body := f.do(t, "POST", "/cdr", key, "", ""); res.StatusCode != 405 || body != "Method Not Allowed" {
		t.Errorf("POST /cdr: %d %q", res.StatusCode, body)
	}
	if res, body := f.do(t, "GET", "/sendSMS", key, "", ""); res.StatusCode != 405 {
		t.Errorf("GET /sendSMS: %d %q", res.StatusCode, body)
	}
	for _, q := range []string{"", "cpa=101", "cpb=200", "cpa=&cpb=200", "cpa=101&cpb=2;00", "cpa=abc&cpb=200", "cpa=101&cpb=" + strings.Repeat("1", 33),
		"cpa=101&cpa=102&cpb=200", "cpa=999&cpb=200"} {
		res, body := f.do(t, "GET", "/dial?"+q, key, "", "")
		if res.StatusCode != 500 || body != "Action Error" {
			t.Errorf("dial ?%s: %d %q", q, res.StatusCode, body)
		}
	}
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct{ ctype, body string }{
		{form, ""}, {form, "to=60010020&body=x"}, {form, "to=6001002000&body=x"}, {form, "to=60010020a&body=x"}, {form, "to=600100200"},
		{form, "to=600100200&body=" + strings.Repeat("a", 1025)}, {form, "to=600100200&body=%ff"},
		{"application/json", `{"to":"600100200"}`}, {"application/json", `{"to":600100200,"body":7}`}, {"application/json", `[`},
		{"application/json", `{"to":"60010020","body":"x"}`},
	} {
		res, body := f.do(t, "POST", "/sendSMS", key, tc.ctype, tc.body)
		if res.StatusCode != 400 || body != "Parameter is missing" {
			t.Errorf("sendSMS %s %.40q: %d %q", tc.ctype, tc.body, res.StatusCode, body)
		}
	}
	// 1,024 characters (two bytes each) is an SMS; 2 MB is not.
	if res, body := f.do(t, "POST", "/sendSMS", key, "application/json", `{"to":600100200,"body":"`+strings.Repeat("ż", 1024)+`","test":true}`); res.StatusCode != 200 ||
		!strings.Contains(body, `"responseStatus":"QUEUE","responseErrorMessage":null`) {
		t.Errorf("1,024 characters: %d %q", res.StatusCode, body)
	}
	// A PBX without an SMS gateway: the spec's RESPONSE with 500.
	if res, body := f.do(t, "POST", "/sendSMS", "Bearer OtherKey0123456", form, "to=600100200&body=x"); res.StatusCode != 500 ||
		body != `{"responseId":null,"responseStatus":"FAILED","responseErrorMessage":"SMS gateway is not available on this PBX"}` {
		t.Errorf("no gateway: %d %q", res.StatusCode, body)
	}
	// Without sms.send: 403 as on every route.
	if res, body := f.do(t, "POST", "/sendSMS", "Bearer ReadOnlyKey0123", form, "to=600100200&body=x"); res.StatusCode != 403 || body != "Forbidden" {
		t.Errorf("readonly key: %d %q", res.StatusCode, body)
	}
	if res, body := f.do(t, "POST", "/sendSMS", key, form, "to=600100200&body="+strings.Repeat("a", 2<<20)); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MB body: %d %.100q", res.StatusCode, body)
	}
	if len(f.eng.orig) != 0 {
		t.Fatalf("bad dials originated %v", f.eng.orig)
	}
}

// TestRecordDownloadRange: the recording is served with Range support and
// its Content-Type.
func TestRecordDownloadRange(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	req, _ := http.NewRequest("GET", f.srv.URL+"/record/1639563902.75", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Range", "bytes=0-3")
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b := make([]byte, 16)
	n, _ := res.Body.Read(b)
	if res.StatusCode != http.StatusPartialContent || string(b[:n]) != "RIFF" || res.Header.Get("Content-Type") != "audio/wav" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "1639563902.75.wav") {
		t.Fatalf("range: %d %q %v", res.StatusCode, b[:n], res.Header)
	}
}

// TestRunningRecordingsAreNotListed: what /record lists can be fetched:
// running and failed recordings appear in neither.
func TestRunningRecordingsAreNotListed(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	ctx := context.Background()
	for _, r := range []pbx.Recording{
		{ID: "r4", Tenant: tenant, CallID: "1639564000.1", File: "1639564000.1.wav", State: pbx.RecActive, Started: specNow.Add(-time.Minute)},
		{ID: "r5", Tenant: tenant, CallID: "1639564000.2", File: "1639564000.2.wav", State: pbx.RecFailed, Started: specNow.Add(-time.Minute)},
	} {
		r := r
		if err := f.recs.InsertRecording(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	res, body := f.do(t, "GET", "/record", "Bearer "+apiKey, "", "")
	if res.StatusCode != 200 || strings.Contains(body, "1639564000") || !strings.Contains(body, "1639563902.75") {
		t.Fatalf("list: %d %s", res.StatusCode, body)
	}
	for _, id := range []string{"1639564000.1", "1639564000.2"} {
		if res, body := f.do(t, "GET", "/record/"+id, "Bearer "+apiKey, "", ""); res.StatusCode != 404 {
			t.Fatalf("%s: %d %s", id, res.StatusCode, body)
		}
	}
}
