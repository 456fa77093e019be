package cloudpbx

import (
	"errors"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// FuzzDateRange: any query string either parses to a range of whole
// tenant days within the bound, or is errParameter; never a panic.
func FuzzDateRange(f *testing.F) {
	for _, s := range []string{"", "datestart=2021-10-01&datestop=2021-10-07", "datestart=2021-02-29", "datestop=2021-03-28",
		"datestart=2021-10-01'%20OR%20'1'='1", "datestart=9999-12-31", "datestart=0000-00-00", "datestart=2021-10-31&datestop=2021-10-31"} {
		f.Add(s)
	}
	loc := warsaw()
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		dr, err := parseDateRange(q, specNow, loc)
		if err != nil {
			if !errors.Is(err, errParameter) {
				t.Fatalf("%q: error %v is not errParameter", raw, err)
			}
			return
		}
		if !dr.from.Before(dr.to) || dr.to.Sub(dr.from) > (maxRangeDays+1)*24*time.Hour {
			t.Fatalf("%q: range %v..%v", raw, dr.from, dr.to)
		}
		for _, x := range []time.Time{dr.from, dr.to} {
			if l := x.In(loc); l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 {
				t.Fatalf("%q: %v is not a tenant midnight", raw, x)
			}
		}
	})
}

// FuzzSMSParams: to, body and test either pass the spec's rules exactly or
// are errParameter.
func FuzzSMSParams(f *testing.F) {
	f.Add("600100200", "Test", "")
	f.Add("60010020", "x", "true")
	f.Add("６００１００２００", "x", "")
	f.Add("600100200", "\xff", "yes,true")
	f.Fuzz(func(t *testing.T, to, body, test string) {
		r, err := checkSMS(to, body, test)
		if err != nil {
			if !errors.Is(err, errParameter) {
				t.Fatalf("error %v is not errParameter", err)
			}
			return
		}
		if len(r.To) != 9 || !utf8.ValidString(r.Body) || r.Body == "" || utf8.RuneCountInString(r.Body) > maxSMSBody {
			t.Fatalf("accepted %q %q", to, body)
		}
	})
}

// FuzzSMSJSON: any JSON body is read or refused with errParameter.
func FuzzSMSJSON(f *testing.F) {
	for _, s := range []string{`{"to":"600100200","body":"x"}`, `{"to":600100200,"body":"x","test":true}`, `[]`, `{"body":1}`, `null`, `{"to":1e400}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, _, _, err := smsJSON([]byte(raw)); err != nil && !errors.Is(err, errParameter) {
			t.Fatalf("%q: error %v is not errParameter", raw, err)
		}
	})
}

// FuzzDialParams: the numbers /dial accepts (pbx.ValidNumber) and uniqueIDOK never accept a path
// separator, a dot-dot or a NUL.
func FuzzDialParams(f *testing.F) {
	for _, s := range []string{"101", "+48221234567", "*72#", "../etc", "1639563902.75", "..", "a/b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ok := range []bool{pbx.ValidNumber(s), uniqueIDOK(s)} {
			if ok && (containsAny(s, "/\\\x00") || s == ".." || s == ".") {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}
