package cloudpbx

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of the spec.
const (
	maxCDRs       = 10000 // "at most 10 000 CDR records"
	maxRecordings = 5000  // "at most 5000 recordings"
	maxSMSBody    = 1024  // characters
	maxRangeDays  = 366   // our bound on datestart..datestop
)

// dateRange is datestart..datestop as an instant range [from, to) in the
// tenant's zone: the spec's dates are the PBX's days.
type dateRange struct {
	from, to time.Time
}

// parseDateRange reads datestart and datestop (YYYY-MM-DD, inclusive).
// Both absent: today. One absent: that one day is the other's. A bad
// date, datestop before datestart or a range over maxRangeDays is
// errParameter. Only the first value of each parameter counts, and a
// parameter given twice with different values is refused rather than
// guessed.
func parseDateRange(q url.Values, now time.Time, loc *time.Location) (dateRange, error) {
	start, err := oneValue(q, "datestart")
	if err != nil {
		return dateRange{}, err
	}
	stop, err := oneValue(q, "datestop")
	if err != nil {
		return dateRange{}, err
	}
	today := now.In(loc).Format(dateLayout)
	switch {
	case start == "" && stop == "":
		start, stop = today, today
	case start == "":
		start = stop
	case stop == "":
		stop = start
	}
	s, err := parseDate(start, loc)
	if err != nil {
		return dateRange{}, fmt.Errorf("datestart: %w", err)
	}
	e, err := parseDate(stop, loc)
	if err != nil {
		return dateRange{}, fmt.Errorf("datestop: %w", err)
	}
	if e.Before(s) {
		return dateRange{}, fmt.Errorf("datestop %s is before datestart %s: %w", stop, start, errParameter)
	}
	// The day after datestop, by the calendar (a DST day has 23 or 25 h).
	to := time.Date(e.Year(), e.Month(), e.Day()+1, 0, 0, 0, 0, loc)
	if days := int(to.Sub(s).Hours()/24 + 0.5); days > maxRangeDays {
		return dateRange{}, fmt.Errorf("range of %d days is over %d: %w", days, maxRangeDays, errParameter)
	}
	return dateRange{from: s, to: to}, nil
}

const (
	dateLayout     = "2006-01-02"
	dateTimeLayout = "2006-01-02 15:04:05"
)

// parseDate accepts exactly YYYY-MM-DD (ten characters, digits and two
// dashes, a real calendar day, year 1970-9999) and returns its midnight
// in loc.
func parseDate(s string, loc *time.Location) (time.Time, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD: %w", clip(s), errParameter)
	}
	for i := 0; i < 10; i++ {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD: %w", clip(s), errParameter)
		}
	}
	t, err := time.ParseInLocation(dateLayout, s, loc)
	if err != nil || t.Year() < 1970 {
		return time.Time{}, fmt.Errorf("%q is not a calendar day: %w", clip(s), errParameter)
	}
	return t, nil
}

// oneValue is a parameter's value; given twice with different values it is
// ambiguous and refused.
func oneValue(q url.Values, k string) (string, error) {
	vs := q[k]
	if len(vs) == 0 {
		return "", nil
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return "", fmt.Errorf("%s given twice: %w", k, errParameter)
		}
	}
	return vs[0], nil
}

// smsRequest is a parsed /sendSMS.
type smsRequest struct {
	To   string
	Body string
	Test bool
}

// checkSMS validates to (nine digits, the spec's Polish mobile number) and
// body (1 to maxSMSBody characters of valid UTF-8); test is on when its
// value contains "true", as the spec words it.
func checkSMS(to, body, test string) (smsRequest, error) {
	if len(to) != 9 {
		return smsRequest{}, fmt.Errorf("to must be nine digits: %w", errParameter)
	}
	for i := 0; i < len(to); i++ {
		if to[i] < '0' || to[i] > '9' {
			return smsRequest{}, fmt.Errorf("to must be nine digits: %w", errParameter)
		}
	}
	if body == "" || !utf8.ValidString(body) || utf8.RuneCountInString(body) > maxSMSBody {
		return smsRequest{}, fmt.Errorf("body must be 1-%d characters: %w", maxSMSBody, errParameter)
	}
	return smsRequest{To: to, Body: body, Test: strings.Contains(test, "true")}, nil
}

// uniqueIDOK bounds /record/{uniqueid}: it is looked up in the index, never
// used as a path, but a bound keeps logs and queries small and answers
// path tricks with a plain 404.
func uniqueIDOK(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return s != "." && s != ".."
}

// clip bounds client text quoted in an error.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
