package webtapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzServe drives the whole handler (parser, session check, every
// action) with arbitrary methods, queries and bodies, as an admin
// ("@SID" in the query is replaced by a live session id): every request
// is answered with status 200 and, unless it succeeded, the body "0" and
// an X-Webtapi-Error code; nothing panics or hangs.
func FuzzServe(f *testing.F) {
	for _, s := range [][4]string{
		{"GET", "action=call_list_all&SID=@SID", "", ""},
		{"GET", "action=call&src=1004&dst=1001&SID=@SID", "", ""},
		{"POST", "action=login", "application/x-www-form-urlencoded", "AUTH%5Buser%5D=admin&AUTH%5Bpass%5D=admin"},
		{"POST", "", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncall_status_get\r\n--x--\r\n"},
		{"GET", "action=call_record_get&monitor_file=..%2F..%2Fetc%2Fpasswd&SID=@SID", "", ""},
		{"GET", "action=relay_status_set&relay_id=17&status=1&SID=@SID", "", ""},
		{"GET", "action=q_shift_caller&q_name=VMX&chan=SIP/1004-00000001&pos=1&SID=@SID", "", ""},
		{"POST", "SID=@SID", "application/x-www-form-urlencoded", "action=vmx_cam_get_pic&CAMID=44"},
		{"GET", "action=vmx_cam_get_stream&CAMID=44&SID=@SID", "", ""},
		{"PUT", "action=call_list&SID=@SID", "text/plain", "x"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	fx := newFixture(f)
	sid := fx.login(f, "admin", "admin")
	f.Fuzz(func(t *testing.T, method, query, contentType, body string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") || len(method) > 16 {
			return
		}
		query = strings.ReplaceAll(query, "@SID", sid)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req := httptest.NewRequest("GET", Path, nil).WithContext(ctx)
		req.Method = method
		req.URL.RawQuery = query
		req.Body = http.NoBody
		if body != "" {
			req.Body = readCloser{strings.NewReader(body)}
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		fx.api.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		if e := rec.Header().Get("X-Webtapi-Error"); e != "" && rec.Body.String() != "0" {
			t.Fatalf("error %s with body %q", e, rec.Body.String())
		}
		if rec.Body.String() == "0" && rec.Header().Get("X-Webtapi-Error") == "" && !strings.Contains(query+body, "relay_status_get") {
			t.Fatalf("0 without a reason for %s %q %q", method, query, body)
		}
	})
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }
