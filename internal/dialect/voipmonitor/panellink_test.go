package voipmonitor

import (
	"testing"
	"time"
)

// TestPanelQuery: the cdr_filters the panel's CDR view can express
// exactly become its query; every other one keeps the listing (false),
// so a link never drops a condition.
func TestPanelQuery(t *testing.T) {
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Fatal(err)
	}
	known := func() (*time.Location, bool) { return warsaw, true }
	unknown := func() (*time.Location, bool) { return nil, false }
	for _, c := range []struct {
		filter string
		zone   func() (*time.Location, bool)
		want   string // "" with ok false
	}{
		{`{}`, unknown, "="},
		{`{fcaller:'2001'}`, unknown, "number=2001"},
		{`{fcaller:"2001", fcalled:"42"}`, unknown, "number=2001"}, // type 0 searches the caller's value only
		{`{fcalled:"42"}`, unknown, "dst=42"},
		{`{fcaller:"2001", fcalled:"42", fcallerd_type:1}`, unknown, "dst=42&src=2001"},
		{`{fcaller:"2001", limit:30, sort:'[{"property":"calldate2","direction":"ASC"}]'}`, unknown, "number=2001"},
		{`{fcaller:"2001", fdatefrom:"2026-01-10 10:00:00", fdateto:"2026-07-01"}`, known,
			"from=2026-01-10T09%3A00%3A00Z&number=2001&to=2026-06-30T22%3A00%3A00.000001Z"},
		{`{fcaller:"2001", fdatefrom:"2026-01-10"}`, unknown, ""}, // no zone to place the date in
		{`{fdatefrom:"yesterday"}`, known, ""},
		{`{fdatefrom:"2026-01-10", fdateto:"2026-01-09"}`, known, ""},
		{`{fcaller:"20%"}`, unknown, ""},
		{`{fcaller:"2001,2002"}`, unknown, ""},
		{`{fcaller:"!2001"}`, unknown, ""},
		{`{fcallerd_type:2, fcaller:"2001"}`, unknown, ""},
		{`{fcallid:"a84b4c76e66710@pc33"}`, unknown, "call_id=a84b4c76e66710%40pc33"},
		{`{fcallid:"uDR8mtloKFa1F8625VL2OXSFp.RuG73v", fcaller:"2001"}`, unknown, "call_id=uDR8mtloKFa1F8625VL2OXSFp.RuG73v&number=2001"},
		{`{fcaller_domain:"example.com"}`, unknown, ""},
		{`{fcaller:"2001", fsipresponse:486}`, unknown, ""},
	} {
		f, err := parseCDRFilter(c.filter)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		q, ok := panelQuery(f, c.zone)
		got := ""
		if ok {
			got = q.Encode()
			if got == "" {
				got = "="
			}
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.filter, got, c.want)
		}
	}
}
