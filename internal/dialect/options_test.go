package dialect

import (
	"strings"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	o := Options{"login_timeout": "45s", "typo_timout": "1s", "also": "x"}
	if err := o.Unknown("login_timeout"); err == nil || !strings.Contains(err.Error(), `["also" "typo_timout"]`) {
		t.Fatalf("unknown: %v", err)
	}
	if err := (Options{"x": "1"}).Unknown(); err == nil || !strings.Contains(err.Error(), "no options") {
		t.Fatalf("none known: %v", err)
	}
	if err := (Options{}).Unknown(); err != nil {
		t.Fatal(err)
	}
	if err := Options(nil).Unknown("a"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v    string
		want time.Duration
		err  string
	}{
		{"45s", 45 * time.Second, ""},
		{"1s", time.Second, ""},
		{"10m", 10 * time.Minute, ""},
		{"999ms", 0, "999ms is not between 1s and 10m0s"},
		{"10m1s", 0, "is not between"},
		{"-5s", 0, "is not between"},
		{"30", 0, `"30" is not a duration`},
		{"", 0, "is not a duration"},
	} {
		d, err := (Options{"t": tc.v}).Duration("t", time.Minute, time.Second, 10*time.Minute)
		if tc.err == "" && (err != nil || d != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "option t:")) {
			t.Errorf("%q: %v %v", tc.v, d, err)
		}
	}
	if d, err := (Options{}).Duration("t", time.Minute, time.Second, time.Hour); err != nil || d != time.Minute {
		t.Fatalf("absent: %v %v", d, err)
	}
}
