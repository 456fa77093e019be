package voipmonitor

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

const pathAdmin = "/admin.php"

// parseCDRFilter reads admin.php's cdr_filter: a JavaScript object
// literal as the spec writes it ({fcallid:"uDR8..."}), keys bare or
// quoted, values strings (either quote), numbers, true, false or null.
// Its keys are the CDR filter's parameters.
func parseCDRFilter(s string) (url.Values, error) {
	bad := paramErr(`cdr_filter: an object like {fcallid:"...", fdatefrom:"2026-01-01"}`)
	if len(s) > 8192 {
		return nil, bad
	}
	p := strings.TrimSpace(s)
	if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") {
		return nil, bad
	}
	p = strings.TrimSpace(p[1 : len(p)-1])
	out := url.Values{}
	for p != "" {
		var key, val string
		var ok bool
		if key, p, ok = token(p, true); !ok {
			return nil, bad
		}
		p = strings.TrimSpace(p)
		if !strings.HasPrefix(p, ":") {
			return nil, bad
		}
		if val, p, ok = token(strings.TrimSpace(p[1:]), false); !ok {
			return nil, bad
		}
		if len(out) >= 64 {
			return nil, bad
		}
		if val != "\x00null" {
			out.Set(key, val)
		}
		p = strings.TrimSpace(p)
		if strings.HasPrefix(p, ",") {
			p = strings.TrimSpace(p[1:])
		} else if p != "" {
			return nil, bad
		}
	}
	return out, nil
}

// token reads a quoted string, or a bare word (a key, number or literal).
func token(p string, key bool) (string, string, bool) {
	if p == "" {
		return "", p, false
	}
	if q := p[0]; q == '"' || q == '\'' {
		var b strings.Builder
		for i := 1; i < len(p); i++ {
			switch c := p[i]; {
			case c == '\\' && i+1 < len(p):
				i++
				b.WriteByte(p[i])
			case c == q:
				return b.String(), p[i+1:], true
			default:
				b.WriteByte(c)
			}
		}
		return "", p, false
	}
	i := 0
	for i < len(p) && (p[i] == '_' || p[i] == '.' || p[i] == '-' || p[i] == '+' || p[i] >= '0' && p[i] <= '9' || p[i] >= 'a' && p[i] <= 'z' || p[i] >= 'A' && p[i] <= 'Z') {
		i++
	}
	if i == 0 {
		return "", p, false
	}
	w := p[:i]
	if !key && w == "null" {
		return "\x00null", p[i:], true
	}
	return w, p[i:], true
}

// admin serves admin.php?cdr_filter={...}, the GUI links integrations
// embed. A browser goes on to the web panel's CDR browser filtered alike
// (303, see panelLink); other clients, links the panel cannot express,
// and nodes without a panel get a minimal HTML listing of the CDRs the
// filter selects (the same filters as LISTING; no date needed), for a
// logged-in GUI session.
func (a *API) admin(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	var p auth.Principal
	defer func() { a.d.AuditRequest(r, p, Name, "admin cdr_filter", r.URL.Path, sw.status, "") }()
	err := form(sw, r)
	if err == nil {
		if link, ok := a.panelLink(r); ok {
			sw.Header().Set("Location", link)
			sw.Header().Set("Cache-Control", "no-store")
			sw.WriteHeader(http.StatusSeeOther)
			return
		}
	}
	if err == nil {
		p, err = a.session(r)
	}
	if err == nil && !p.Can(auth.ReadCDRs) {
		err = dialect.ErrForbidden
	}
	var vals url.Values
	if err == nil {
		vals, err = parseCDRFilter(r.Form.Get("cdr_filter"))
	}
	if err != nil {
		status, reason := errorReply(err)
		if status >= 500 {
			a.log.Error("request failed", "path", r.URL.Path, "err", err)
		}
		htmlPage(sw, status, "CDR", "<p>"+html.EscapeString(reason)+"</p>")
		return
	}
	loc := a.d.Service.Location(p)
	l, err := parseFilter(vals, p.Tenant, loc, a.sensorID, false)
	if err == nil {
		var total int64
		if total, err = a.count(r.Context(), p, l.q); err == nil {
			rows, err2 := a.search(r.Context(), p, l.q)
			if err = err2; err == nil {
				var b strings.Builder
				fmt.Fprintf(&b, "<p>%d CDRs</p>\n<table class=\"cdr\">\n<tr><th>id</th><th>calldate</th><th>caller</th><th>called</th><th>duration</th><th>last SIP response</th><th>MOS</th><th>Call-ID</th><th>PCAP</th></tr>\n", total)
				for _, c := range rows {
					id := strconv.FormatInt(c.ID, 10)
					fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d %s</td><td>%.2f</td><td>%s</td><td><a href=\"%s\">pcap</a></td></tr>\n",
						id, html.EscapeString(c.CallDate.In(loc).Format("2006-01-02 15:04:05")), html.EscapeString(c.Src), html.EscapeString(c.Dst),
						c.Duration, c.LastSIPResponse, html.EscapeString(reasonPhrase(c.LastSIPResponse)), c.MOS, html.EscapeString(c.CallID),
						html.EscapeString(prefixOf(r)+pathPCAP+"?id="+id))
				}
				b.WriteString("</table>\n")
				htmlPage(sw, http.StatusOK, "CDR", b.String())
				return
			}
		}
	}
	status, reason := errorReply(err)
	if status >= 500 {
		a.log.Error("request failed", "path", r.URL.Path, "err", err)
	}
	htmlPage(sw, status, "CDR", "<p>"+html.EscapeString(reason)+"</p>")
}

// htmlPage answers a small self-contained HTML page.
func htmlPage(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>"+
		"<style>table{border-collapse:collapse;font:13px monospace}td,th{border:1px solid #ccc;padding:2px 6px;white-space:nowrap}"+
		".msc td{border:none}.arrow{text-align:center;border-bottom:2px solid #36c !important}</style></head><body>\n%s</body></html>\n",
		html.EscapeString(title), body)
}

// mscPage renders the SIP history as a ladder (message sequence chart):
// one column per address, each message an arrow across the columns
// between its source and destination.
func mscPage(rows []briefRow) string {
	var ends []string
	idx := map[string]int{}
	for _, r := range rows {
		for _, e := range []string{r.SrcIP + ":" + r.SrcPort, r.DstIP + ":" + r.DstPort} {
			if _, ok := idx[e]; !ok {
				idx[e] = len(ends)
				ends = append(ends, e)
			}
		}
	}
	var b strings.Builder
	b.WriteString("<table class=\"msc\">\n<tr><th>time</th>")
	for _, e := range ends {
		fmt.Fprintf(&b, "<th colspan=\"2\">%s</th>", html.EscapeString(e))
	}
	b.WriteString("</tr>\n")
	for _, r := range rows {
		s, d := idx[r.SrcIP+":"+r.SrcPort], idx[r.DstIP+":"+r.DstPort]
		lo, hi := min(s, d), max(s, d)
		label := html.EscapeString(r.Msg)
		if s <= d {
			label = label + " &#9654;"
		} else {
			label = "&#9664; " + label
		}
		fmt.Fprintf(&b, "<tr><td>%.3f</td>", r.Time)
		// Columns are halves of each address's lane; the arrow runs from
		// the middle of one lane to the middle of the other.
		for i := 0; i < 2*lo+1; i++ {
			b.WriteString("<td></td>")
		}
		span := 2 * (hi - lo)
		if span == 0 {
			span = 1
		}
		fmt.Fprintf(&b, "<td class=\"arrow\" colspan=\"%d\">%s</td>", span, label)
		for i := 2*lo + 1 + span; i < 2*len(ends); i++ {
			b.WriteString("<td></td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
	return b.String()
}
