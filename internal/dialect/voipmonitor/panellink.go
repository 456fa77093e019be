package voipmonitor

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// panelLinkKeys are the cdr_filter keys the panel's CDR browser can
// express. Paging and sorting choose how the calls are shown, not which:
// the panel pages and sorts by itself, so they are left out.
var panelLinkKeys = map[string]bool{
	"fcaller": true, "fcalled": true, "fcallerd_type": true, "fdatefrom": true, "fdateto": true, "fcallid": true,
	"limit": true, "start": true, "page": true, "sort": true,
}

// panelQuery translates a cdr_filter into the query of the panel's CDR
// view (#/cdrs?..., docs/panel.md "Links into the panel"), whose filters
// are the native API's: number (either side), src, dst, call_id (either
// leg's SIP Call-ID), from, to, all exact. It reports false when the panel would select other calls than
// the filter does — a key it has no filter for, a pattern, list or
// negation (the panel matches numbers exactly), a date it cannot place
// in time — and then the caller serves the HTML listing instead, so a
// link never loses a condition on the way. zone is the tenant's time
// zone (the GUI's dates are local), asked only when there are dates;
// false when it is not known.
func panelQuery(f url.Values, zone func() (*time.Location, bool)) (url.Values, bool) {
	for k := range f {
		if !panelLinkKeys[k] {
			return nil, false
		}
	}
	exact := func(v string) bool { return len(v) <= 64 && !strings.ContainsAny(v, "%_,!") }
	q := url.Values{}
	caller, called := strings.TrimSpace(f.Get("fcaller")), strings.TrimSpace(f.Get("fcalled"))
	switch typ := strings.TrimSpace(f.Get("fcallerd_type")); {
	case typ != "" && typ != "0" && typ != "1":
		return nil, false
	case typ != "1" && caller != "":
		// Type 0 (OR): the caller's value in either field; the called
		// value is not used (as in the listing, see pair).
		if !exact(caller) {
			return nil, false
		}
		q.Set("number", caller)
	default:
		for _, x := range []struct{ v, key string }{{caller, "src"}, {called, "dst"}} {
			if x.v == "" {
				continue
			}
			if !exact(x.v) {
				return nil, false
			}
			q.Set(x.key, x.v)
		}
	}
	if v := strings.TrimSpace(f.Get("fcallid")); v != "" {
		// Exact on either leg, as in the listing; Call-IDs are not lists.
		if len(v) > maxValueLen {
			return nil, false
		}
		q.Set("call_id", v)
	}
	from, to := strings.TrimSpace(f.Get("fdatefrom")), strings.TrimSpace(f.Get("fdateto"))
	if from == "" && to == "" {
		return q, true
	}
	loc, ok := zone()
	if !ok {
		return nil, false
	}
	var tf, tt time.Time
	var err error
	if from != "" {
		if tf, err = parseDate("fdatefrom", from, loc); err != nil {
			return nil, false
		}
		q.Set("from", tf.UTC().Format(time.RFC3339))
	}
	if to != "" {
		if tt, err = parseDate("fdateto", to, loc); err != nil || (from != "" && tt.Before(tf)) {
			return nil, false
		}
		// fdateto includes its instant; the API's "to" excludes it. CDR
		// times are kept to the microsecond.
		q.Set("to", tt.Add(time.Microsecond).UTC().Format(time.RFC3339Nano))
	}
	return q, true
}

// panelLink is where admin.php sends a browser: the panel's CDR view
// filtered as cdr_filter asks, or false when the request is not a
// browser's page load, the node serves no panel there, or the filter
// does not translate exactly (see panelQuery).
//
// A browser is a GET whose Accept names text/html (browsers' page loads
// do; curl's */* and API clients' application/json do not, and keep the
// listing). The redirect needs no session: it says nothing the link did
// not, and the panel asks for its own login. Only dates need the GUI
// session, for the tenant's time zone.
func (a *API) panelLink(r *http.Request) (string, bool) {
	if a.d.Panel == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) || !acceptsHTML(r) {
		return "", false
	}
	f, err := parseCDRFilter(r.Form.Get("cdr_filter"))
	if err != nil {
		return "", false
	}
	q, ok := panelQuery(f, func() (*time.Location, bool) {
		p, err := a.session(r)
		if err != nil {
			return nil, false
		}
		return a.d.Service.Location(p), true
	})
	if !ok {
		return "", false
	}
	link := a.d.Panel + "#/cdrs"
	if len(q) > 0 {
		link += "?" + q.Encode()
	}
	return link, true
}

func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}
