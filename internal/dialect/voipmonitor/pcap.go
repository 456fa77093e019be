package voipmonitor

import (
	"fmt"
	"html"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// cdrOfForm authenticates a GUI request by its session cookie and finds
// the CDR its id names. The id must be a CDR number: anything else (a
// path, a file name) is refused before any lookup.
func (a *API) cdrOfForm(w http.ResponseWriter, r *http.Request, right string) (auth.Principal, pbx.CDR, error) {
	if err := form(w, r); err != nil {
		return auth.Principal{}, pbx.CDR{}, err
	}
	p, err := a.session(r)
	if err != nil {
		return p, pbx.CDR{}, err
	}
	if !p.Can(right) {
		return p, pbx.CDR{}, dialect.ErrForbidden
	}
	id, err := strconv.ParseInt(r.Form.Get("id"), 10, 64)
	if err != nil || id <= 0 {
		return p, pbx.CDR{}, paramErr("id: a CDR id is required")
	}
	c, err := a.getCDR(r.Context(), p, id)
	return p, c, err
}

// pcap serves php/pcap.php?id=: the call's capture, with disable_rtp=1
// its SIP messages only.
func (a *API) pcap(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	p, c, err := a.cdrOfForm(sw, r, auth.ReadPCAP)
	defer func() { a.d.AuditRequest(r, p, Name, "pcap", "cdr "+strconv.FormatInt(c.ID, 10), sw.status, "") }()
	if err != nil {
		a.fail(sw, r, err)
		return
	}
	sipOnly := false
	if v := r.Form.Get("disable_rtp"); v != "" {
		if sipOnly, err = boolParam("disable_rtp", v); err != nil {
			a.fail(sw, r, err)
			return
		}
	}
	if err := a.servePCAP(sw, r, p, []pbx.CDR{c}, sipOnly, false); err != nil {
		a.fail(sw, r, err)
	}
}

// briefRow is one SIP message of pcap2text.php's brief_data, as the spec
// prints it: numbers as strings except time (seconds from the first
// message, a JSON number).
type briefRow struct {
	Num       string  `json:"num"`
	Time      float64 `json:"time"`
	Src       string  `json:"src"`
	Dst       string  `json:"dst"`
	SrcIP     string  `json:"srcip"`
	DstIP     string  `json:"dstip"`
	SrcPort   string  `json:"srcport"`
	DstPort   string  `json:"dstport"`
	PacketLen string  `json:"packet_len"`
	Direction string  `json:"direction"`
	Protocol  string  `json:"protocol"`
	SpecType  *string `json:"spec_type"`
	Msg       string  `json:"msg"`
	Type      string  `json:"type"`
}

type briefReply struct {
	Results []briefRow `json:"results"`
	Total   int        `json:"total"`
	Errors  struct{}   `json:"errors"`
	Success bool       `json:"success"`
	Debug   bool       `json:"_debug"`
}

// ipv4InText finds addresses inside message lines (request URIs).
var ipv4InText = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)

// pcap2text serves php/pcap2text.php: the call's SIP history as JSON
// (brief_data), an HTML table (brief) or an HTML ladder diagram (getMSC). ip_not_allowed hides addresses
// and prefixes: messages from or to them are left out, and the addresses
// are masked where they appear in the remaining lines. dns_lookup=1 shows
// names in src and dst (bounded lookups, see lookupNames).
func (a *API) pcap2text(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	p, c, err := a.cdrOfForm(sw, r, auth.ReadPCAP)
	action := r.Form.Get("action")
	defer func() {
		a.d.AuditRequest(r, p, Name, "pcap2text "+clip(action), "cdr "+strconv.FormatInt(c.ID, 10), sw.status, "")
	}()
	if err != nil {
		a.fail(sw, r, err)
		return
	}
	if action != "brief_data" && action != "brief" && action != "getMSC" {
		a.fail(sw, r, paramErr("action: brief_data, brief or getMSC"))
		return
	}
	hidden, err := ipList(r.Form.Get("ip_not_allowed"))
	if err != nil {
		a.fail(sw, r, err)
		return
	}
	if a.d.Artifacts == nil {
		a.fail(sw, r, fmt.Errorf("captures: %w", pbx.ErrNotSupported))
		return
	}
	msgs, err := a.d.Artifacts.SIPLadder(p.Tenant, c.UniqueID, true)
	if err != nil {
		a.fail(sw, r, err)
		return
	}
	rows := briefRows(msgs, hidden)
	if v := r.Form.Get("dns_lookup"); v != "" {
		lookup, err := boolParam("dns_lookup", v)
		if err != nil {
			a.fail(sw, r, err)
			return
		}
		if lookup {
			lookupNames(r.Context(), rows)
		}
	}
	switch action {
	case "brief_data":
		writeJSON(sw, http.StatusOK, briefReply{Results: rows, Total: len(rows), Success: true})
		return
	case "getMSC":
		htmlPage(sw, http.StatusOK, "SIP history", mscPage(rows))
		return
	}
	var b strings.Builder
	b.WriteString("<table class=\"sip_history\">\n<tr><th>num</th><th>time</th><th>src</th><th>dst</th><th>protocol</th><th>msg</th></tr>\n")
	for _, row := range rows {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%.6f</td><td>%s:%s</td><td>%s:%s</td><td>%s</td><td>%s</td></tr>\n", row.Num, row.Time,
			html.EscapeString(row.Src), row.SrcPort, html.EscapeString(row.Dst), row.DstPort, html.EscapeString(row.Protocol), html.EscapeString(row.Msg))
	}
	b.WriteString("</table>\n")
	sw.Header().Set("Content-Type", "text/html; charset=utf-8")
	sw.Header().Set("X-Content-Type-Options", "nosniff")
	sw.WriteHeader(http.StatusOK)
	_, _ = sw.Write([]byte(b.String()))
}

func briefRows(msgs []capture.Message, hidden []netip.Prefix) []briefRow {
	isHidden := func(a netip.Addr) bool {
		for _, p := range hidden {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	rows := []briefRow{}
	for _, m := range msgs {
		if isHidden(m.Src.Addr()) || isHidden(m.Dst.Addr()) {
			continue
		}
		line := ipv4InText.ReplaceAllStringFunc(m.Line, func(s string) string {
			if a, err := netip.ParseAddr(s); err == nil && isHidden(a) {
				return "x.x.x.x"
			}
			return s
		})
		proto, typ := "SIP", "request"
		if m.Status != 0 {
			typ = "response"
		}
		if strings.Contains(strings.ToLower(m.Raw), "application/sdp") {
			proto = "SIP/SDP"
		}
		rows = append(rows, briefRow{Num: strconv.Itoa(len(rows) + 1), Time: m.Time.Sub(msgs[0].Time).Seconds(),
			Src: m.Src.Addr().Unmap().String(), Dst: m.Dst.Addr().Unmap().String(), SrcIP: m.Src.Addr().Unmap().String(), DstIP: m.Dst.Addr().Unmap().String(),
			SrcPort: strconv.Itoa(int(m.Src.Port())), DstPort: strconv.Itoa(int(m.Dst.Port())), PacketLen: strconv.Itoa(m.Length),
			Direction: "-->", Protocol: proto, Msg: line + " len:" + strconv.Itoa(m.Length), Type: typ})
	}
	return rows
}
