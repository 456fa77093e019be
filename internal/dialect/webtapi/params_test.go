package webtapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseParams: the query and the body merge as PHP's $_REQUEST;
// anything the server would have to guess about is refused.
func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		name        string
		query, body string
		ok          bool
		action, sid string
		user, pass  string
	}{
		{"spec example", "SID=198340c107a6d74c2230a1f39fb146bc&action=call&src=1004&dst=1001", "", true, "call", "198340c107a6d74c2230a1f39fb146bc", "", ""},
		{"login in body", "", "action=login&AUTH%5Buser%5D=1004&AUTH%5Bpass%5D=demo", true, "login", "", "1004", "demo"},
		{"login without action", "", "AUTH[user]=1004&AUTH[pass]=demo", true, "login", "", "1004", "demo"},
		{"same value twice", "action=call&action=call", "", true, "call", "", "", ""},
		{"URL and body agree", "action=call", "action=call", true, "call", "", "", ""},
		{"differing duplicates", "action=call&action=call_hangup", "", false, "", "", "", ""},
		{"URL and body differ", "action=call", "action=call_hangup", false, "", "", "", ""},
		{"password in the URL", "action=login&AUTH[pass]=x", "AUTH[user]=1004", false, "", "", "", ""},
		{"NUL", "action=call&dst=1001%00", "", false, "", "", "", ""},
		{"newline", "action=call&dst=1001%0a", "", false, "", "", "", ""},
		{"invalid UTF-8", "action=call&dst=%ff", "", false, "", "", "", ""},
		{"bad escape", "action=call&dst=%zz", "", false, "", "", "", ""},
		{"long value", "action=call&dst=" + strings.Repeat("1", maxValueBytes+1), "", false, "", "", "", ""},
		{"many params", strings.Repeat("a=1&", 20) + strings.Repeat("b=1&", 1), strings.Repeat("c=1&", 1), true, "", "", "", ""},
	} {
		q, qerr := url.ParseQuery(tc.query)
		b, berr := url.ParseQuery(tc.body)
		if qerr != nil || berr != nil {
			if tc.ok {
				t.Errorf("%s: %v %v", tc.name, qerr, berr)
			}
			continue
		}
		req, err := parseParams(q, b)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, errParam) {
				t.Errorf("%s: %v is not errParam", tc.name, err)
			}
			continue
		}
		if req.action != tc.action || req.sid != tc.sid || req.user != tc.user || req.pass != tc.pass {
			t.Errorf("%s: %+v", tc.name, req)
		}
	}
	many := url.Values{}
	for i := 0; i <= maxParams; i++ {
		many.Set(strings.Repeat("k", i+1), "v")
	}
	if _, err := parseParams(many, nil); !errors.Is(err, errParam) {
		t.Errorf("%d parameters: %v", len(many), err)
	}
}

// TestValidators: what the action parameters accept.
func TestValidators(t *testing.T) {
	for _, s := range []string{"1004", "+48221234567", "*45", "#1"} {
		if !number(s) {
			t.Errorf("number(%q) false", s)
		}
	}
	for _, s := range []string{"", "+", "10 04", "1004'", "1004;DROP", "1+1", strings.Repeat("1", 33), "1004\x00"} {
		if number(s) {
			t.Errorf("number(%q) true", s)
		}
	}
	for _, s := range []string{"SIP/1004-0000001a", "SIP/sps2-00000023", "1358704647.94", "SIP/1222-9813871"} {
		if !channelName(s) {
			t.Errorf("channelName(%q) false", s)
		}
	}
	for _, s := range []string{"", "SIP/1004-0000001a'", "SIP/1004 x", "SIP\\1004", "SIP/1004;--", strings.Repeat("a", 97)} {
		if channelName(s) {
			t.Errorf("channelName(%q) true", s)
		}
	}
	for _, s := range []string{"1", "17", "1073741824"} {
		if _, ok := positiveInt(s); !ok {
			t.Errorf("positiveInt(%q) false", s)
		}
	}
	for _, s := range []string{"", "0", "-1", "+1", "017", "1e3", "1073741825", "99999999999", " 1"} {
		if _, ok := positiveInt(s); ok {
			t.Errorf("positiveInt(%q) true", s)
		}
	}
	if l, ok := numberList("1001, 1002,1003", 3); !ok || len(l) != 3 || l[1] != "1002" {
		t.Errorf("numberList: %v %v", l, ok)
	}
	for _, s := range []string{"", "1001,,1002", "1001,1001", "1001,x", "1,2,3,4"} {
		if _, ok := numberList(s, 3); ok {
			t.Errorf("numberList(%q) ok", s)
		}
	}
}

// FuzzParseParams: any query and form body either parse into values that
// are valid UTF-8 without control characters, or are refused with
// errParam; never a panic.
func FuzzParseParams(f *testing.F) {
	for _, s := range [][2]string{
		{"SID=198340c107a6d74c2230a1f39fb146bc&action=call&src=1004&dst=1001", ""},
		{"action=login", "AUTH%5Buser%5D=1004&AUTH%5Bpass%5D=demo"},
		{"action=call_record_get&monitor_file=..%2F..%2Fetc%2Fpasswd", ""},
		{"action=call&action=call_hangup", "action=x"},
		{"a=%00&b=%ff", "AUTH[user]=%0d%0a"},
		{"action=call_status_get&filter=1001,1004", "SID=x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, query, body string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		b, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		req, err := parseParams(q, b)
		if err != nil {
			if !errors.Is(err, errParam) {
				t.Fatalf("error %v is not errParam", err)
			}
			return
		}
		for k, v := range req.p {
			for _, s := range []string{k, v} {
				if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n") || len(s) > maxValueBytes {
					t.Fatalf("accepted %q=%q", k, v)
				}
			}
		}
		if req.pass != "" && q.Has("AUTH[pass]") {
			t.Fatalf("a password from the URL was accepted")
		}
		if req.action == "login" && req.user == "" && req.p["action"] != "login" {
			t.Fatalf("login without a user: %+v", req)
		}
	})
}
