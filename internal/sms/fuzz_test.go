package sms

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCallbackReport: any status callback body, JSON or form, is read
// into a valid report or refused with an error; never a panic, and a
// report always names exactly one of id and ref, a real state and a
// non-negative cost.
func FuzzCallbackReport(f *testing.F) {
	for _, seed := range []struct{ ctype, body string }{
		{"application/x-www-form-urlencoded", "ref=gw-1&status=DELIVERED&cost=7"},
		{"application/x-www-form-urlencoded", "id=3421756012963258481&status=undelivered&error=no+such+number"},
		{"application/json", `{"ref":"gw-1","status":"SENT","cost":12}`},
		{"application/json", `{"id":1,"status":"FAILED"}`},
		{"application/json", `[1,2]`},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"ref\"\r\n\r\ngw\r\n--x--\r\n"},
		{"", "status=QUEUE&ref=%ff"},
	} {
		f.Add(seed.ctype, seed.body)
	}
	f.Fuzz(func(t *testing.T, ctype, body string) {
		r := httptest.NewRequest(http.MethodPost, "/sms/status/t", strings.NewReader(body))
		if ctype != "" && utf8.ValidString(ctype) && !strings.ContainsAny(ctype, "\r\n") {
			r.Header.Set("Content-Type", ctype)
		}
		u, err := readCallback(httptest.NewRecorder(), r)
		if err != nil {
			return
		}
		if (u.ID == "") == (u.Ref == "") {
			t.Fatalf("report names id %q and ref %q", u.ID, u.Ref)
		}
		if _, ok := ParseState(string(u.State)); !ok || u.Cost < 0 || (u.Costed && u.Cost > 1e9) {
			t.Fatalf("report %+v", u)
		}
	})
}

// FuzzJSONPath: a gateway answer and a path give a string or nothing.
func FuzzJSONPath(f *testing.F) {
	f.Add(`{"data":{"id":"gw-1"}}`, "data.id")
	f.Add(`{"messages":[{"id":77}]}`, "messages.0.id")
	f.Add(`[1]`, "-1")
	f.Fuzz(func(t *testing.T, raw, path string) {
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return
		}
		if s, ok := jsonPath(v, path); !ok && s != "" {
			t.Fatalf("not found but %q", s)
		}
	})
}
