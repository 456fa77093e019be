package voipmonitor

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Named reports: VoIPmonitor runs reports defined in its GUI; switchboard
// has no report editor, so a report is defined in the dialect's options
// as report_<name>: a CDR filter in LISTING's form syntax, e.g.
// report_test_summary: "fsipresponse=200,486&fcaller=20%". reportSummary's
// report_name "test summary" finds it (lower case, every run of other
// characters an underscore).

const reportPrefix = "report_"

// reportKey is the option name of a report name.
func reportKey(name string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return reportPrefix + strings.TrimSuffix(b.String(), "_")
}

// parseReports reads the report_ options, checking each filter now so a
// bad one stops the start.
func parseReports(o dialect.Options) (map[string]url.Values, []string, error) {
	reports := map[string]url.Values{}
	var names []string
	for k, v := range o {
		if !strings.HasPrefix(k, reportPrefix) || k == reportPrefix {
			continue
		}
		vals, err := url.ParseQuery(v)
		if err == nil {
			_, err = parseFilter(vals, "check", time.UTC, 1, false)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("option %s: not a CDR filter (LISTING's form syntax): %v", k, err)
		}
		reports[k] = vals
		names = append(names, k)
	}
	return reports, names, nil
}

// reportTotals is a report's figures over every call it selects.
type reportTotals struct {
	CntAll      string `json:"cnt_all"`
	CntAnswered string `json:"cnt_answered"`
	DurationAll string `json:"duration_all"`
	ACDAll      string `json:"acd_all"`
	ASRAll      string `json:"asr_all"`
	MOSAll      string `json:"mos_all"`
}

// reportSummary runs a named report over datetime_from..datetime_to
// (date-only bounds are whole days: the spec's example runs one day with
// from = to): totals and the summary per last SIP response, as JSON, or
// with json false an HTML table.
func (a *API) reportSummary(w http.ResponseWriter, r *http.Request, p auth.Principal, ps params) error {
	if !p.Can(auth.ReadCDRs) {
		return dialect.ErrForbidden
	}
	name, _ := ps.str("report_name")
	if name == "" || len(name) > maxValueLen {
		return paramErr("report_name is required")
	}
	filter, ok := a.reports[reportKey(name)]
	if !ok {
		return fmt.Errorf("report %q: %w", clip(name), pbx.ErrNotFound)
	}
	loc := a.d.Service.Location(p)
	vals := url.Values{}
	for k, v := range filter {
		vals[k] = v
	}
	vals.Del("fdatefrom")
	vals.Del("fdateto")
	l, err := parseFilter(vals, p.Tenant, loc, a.sensorID, false)
	if err != nil {
		return err
	}
	for _, b := range []struct {
		name string
		dst  *time.Time
		end  bool
	}{{"datetime_from", &l.q.From, false}, {"datetime_to", &l.q.To, true}} {
		v, ok := ps.str(b.name)
		if !ok || v == "" {
			return paramErr(b.name + " is required")
		}
		t, err := parseDate(b.name, v, loc)
		if err != nil {
			return err
		}
		if b.end && len(strings.TrimSpace(v)) == len("2006-01-02") {
			t = t.AddDate(0, 0, 1).Add(-time.Microsecond)
		}
		*b.dst = t
	}
	if l.q.To.Before(l.q.From) {
		return paramErr("datetime_to is before datetime_from")
	}
	groups, err := a.group(r.Context(), p, l.q, pbx.FLastSIP)
	if err != nil {
		return err
	}
	var all pbx.CDRGroup
	var mosN int64
	rows := make([]statsRow, 0, len(groups))
	for _, g := range groups {
		rows = append(rows, statsOf(g))
		all.Count += g.Count
		all.Answered += g.Answered
		all.BillSecSum += g.BillSecSum
		if g.MOSAvg > 0 { // weigh by answered calls, the ones with media
			all.MOSAvg += g.MOSAvg * float64(g.Answered)
			mosN += g.Answered
		}
	}
	if mosN > 0 {
		all.MOSAvg /= float64(mosN)
	}
	tot := statsOf(all)
	totals := reportTotals{CntAll: tot.CntAll, CntAnswered: strconv.FormatInt(all.Answered, 10), DurationAll: tot.DurationAll,
		ACDAll: tot.ACDAll, ASRAll: tot.ASRAll, MOSAll: tot.MOSAll}
	asJSON := true
	if v, ok := ps.str("json"); ok && v != "" {
		if asJSON, err = boolParam("json", v); err != nil {
			return err
		}
	}
	from, to := l.q.From.In(loc).Format("2006-01-02 15:04:05"), l.q.To.In(loc).Format("2006-01-02 15:04:05")
	if asJSON {
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "report_name": name, "datetime_from": from, "datetime_to": to,
			"totals": totals, "results": rows})
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>%s &ndash; %s: %s calls, %s answered, ASR %s %%, ACD %s s, MOS %s</p>\n<table>\n"+
		"<tr><th>last SIP response</th><th>calls</th><th>connected s</th><th>ACD</th><th>ASR %%</th><th>MOS</th><th>loss %%</th><th>jitter ms</th></tr>\n",
		html.EscapeString(name), from, to, totals.CntAll, totals.CntAnswered, totals.ASRAll, totals.ACDAll, totals.MOSAll)
	for _, s := range rows {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			html.EscapeString(s.LastSIPResponse), s.CntAll, s.DurationAll, s.ACDAll, s.ASRAll, s.MOSAll, s.PacketsLostAll, s.JitterAll)
	}
	b.WriteString("</table>\n")
	htmlPage(w, http.StatusOK, name, b.String())
	return nil
}
