package voipmonitor

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// listReply is LISTING's answer: the count and the page, every number a
// JSON string as VoIPmonitor's PHP sends what MySQL returns.
type listReply struct {
	Total   string   `json:"total"`
	Results []cdrRow `json:"results"`
}

// totalReply is the answer with suppress_results=1.
type totalReply struct {
	Total string `json:"total"`
}

// listing answers task=LISTING&module=CDR.
func (a *API) listing(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.ReadCDRs) {
		return dialect.ErrForbidden
	}
	loc := a.d.Service.Location(p)
	l, err := parseFilter(r.Form, p.Tenant, loc, a.sensorID, true)
	if err != nil {
		return err
	}
	total, err := a.count(r.Context(), p, l.q)
	if err != nil {
		return err
	}
	if l.suppress {
		writeJSON(w, http.StatusOK, totalReply{Total: strconv.FormatInt(total, 10)})
		return nil
	}
	rows, err := a.search(r.Context(), p, l.q)
	if err != nil {
		return err
	}
	out := listReply{Total: strconv.FormatInt(total, 10), Results: make([]cdrRow, 0, len(rows))}
	for _, c := range rows {
		out.Results = append(out.Results, a.row(c, loc))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// statsRow is one group of the summary per last SIP response, field for
// field as the spec's example output prints it.
type statsRow struct {
	LastSIPResponseNum string  `json:"lastSIPresponseNum"`
	LastSIPResponseID  string  `json:"lastSIPresponse_id"`
	CntAll             string  `json:"cnt_all"`
	DurationAll        string  `json:"duration_all"`
	ACDAll             string  `json:"acd_all"`
	ASRAll             string  `json:"asr_all"`
	MOSAll             string  `json:"mos_all"`
	PacketsLostAll     string  `json:"packets_lost_all"`
	JitterAll          string  `json:"jitter_all"`
	DelayAll           string  `json:"delay_all"`
	CntOK              *string `json:"cnt_ok"`
	CntErr             *string `json:"cnt_err"`
	LastSIPResponse    string  `json:"lastSIPresponse"`
	ID                 string  `json:"id"`
}

// groupByLastSIPResponse is the GUI's group_by value for "last SIP
// response", the grouping the spec's example output shows.
const groupByLastSIPResponse = "4"

// cdrStats answers module=CDR_stats (and group_by=4): the spec's summary
// per last SIP response. The figures are JSON strings, as in the spec's
// example (PHP passes MySQL's strings through); a client that decodes
// them as numbers must accept quoted numbers.
func (a *API) cdrStats(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.ReadCDRs) {
		return dialect.ErrForbidden
	}
	if g := r.Form.Get("group_by"); g != "" && g != groupByLastSIPResponse {
		return paramErr("group_by: only 4 (last SIP response) is supported")
	}
	loc := a.d.Service.Location(p)
	l, err := parseFilter(r.Form, p.Tenant, loc, a.sensorID, false)
	if err != nil {
		return err
	}
	groups, err := a.group(r.Context(), p, l.q, pbx.FLastSIP)
	if err != nil {
		return err
	}
	out := struct {
		Total   string     `json:"total"`
		Results []statsRow `json:"results"`
	}{Total: strconv.Itoa(len(groups)), Results: make([]statsRow, 0, len(groups))}
	for _, g := range groups {
		out.Results = append(out.Results, statsOf(g))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// statsOf renders one group. duration_all is the connected time, acd_all
// that per answered call and asr_all the answered share in percent (the
// spec's example figures obey these: 5388692 / (110011 * 0.992092) =
// 49.3737); packets_lost_all is the average loss in percent, jitter_all
// the average jitter in ms and delay_all the average post-dial delay in
// ms.
func statsOf(g pbx.CDRGroup) statsRow {
	code := g.Key
	text := code + " " + reasonPhrase(atoi(code))
	if code == "0" {
		text = "0 no response"
	}
	acd, asr := 0.0, 0.0
	if g.Answered > 0 {
		acd = float64(g.BillSecSum) / float64(g.Answered)
	}
	if g.Count > 0 {
		asr = 100 * float64(g.Answered) / float64(g.Count)
	}
	return statsRow{LastSIPResponseNum: code, LastSIPResponseID: code, CntAll: strconv.FormatInt(g.Count, 10),
		DurationAll: strconv.FormatInt(g.BillSecSum, 10), ACDAll: fixed(acd, 4), ASRAll: fixed(asr, 4), MOSAll: fixed(g.MOSAvg, 8),
		PacketsLostAll: fixed(100*g.LossAvg, 8), JitterAll: fixed(g.JitterAvg, 8), DelayAll: fixed(g.PDDAvg, 4),
		LastSIPResponse: text, ID: text}
}

func fixed(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// cdrRow is one CDR in the GUI's column names; every value a string, or
// null when unknown (PHP's MySQL NULL).
type cdrRow map[string]*string

func str(s string) *string { return &s }

func num[T int | int64 | uint32 | uint64](v T) *string { return str(strconv.FormatInt(int64(v), 10)) }

// dateTime is the GUI's date format in the tenant's zone; null for a
// zero time.
func dateTime(t time.Time, loc *time.Location) *string {
	if t.IsZero() {
		return nil
	}
	return str(t.In(loc).Format("2006-01-02 15:04:05"))
}

// orNull is s, or null when empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// payloadOf is the spec's codec number of a codec name (-1 unknown).
func payloadOf(codec string) int {
	for n, name := range payloadCodecs {
		if name == codec {
			return n
		}
	}
	return -1
}

// row renders a CDR in the GUI's cdr columns.
func (a *API) row(c pbx.CDR, loc *time.Location) cdrRow {
	d := c.Detail
	sensor := d.NodeID
	if sensor == 0 {
		sensor = a.sensorID
	}
	whohanged := map[string]string{"caller": "caller", "callee": "callee"}[c.HangupBy]
	row := cdrRow{
		"ID": num(c.ID), "cdrId": num(c.ID), "id_sensor": num(sensor),
		"calldate": dateTime(c.CallDate, loc), "callend": dateTime(c.EndDate, loc), "answerdate": dateTime(c.AnswerDate, loc),
		"duration": num(c.Duration), "connect_duration": num(c.BillSec), "progress_time": fixedPtr(float64(c.PDDMillis)/1000, 3),
		"caller": str(c.Src), "caller_domain": orNull(d.CallerDomain), "callername": orNull(d.CallerName),
		"called": str(c.Dst), "called_domain": orNull(d.CalledDomain),
		"sipcallerip": orNull(c.SrcIP), "sipcalledip": orNull(c.DstIP),
		"lastSIPresponseNum": num(c.LastSIPResponse), "lastSIPresponse": str(strconv.Itoa(c.LastSIPResponse) + " " + reasonPhrase(c.LastSIPResponse)),
		"whohanged": orNull(whohanged), "a_ua": orNull(c.SrcUserAgent), "b_ua": orNull(c.DstUserAgent),
		"fbasename": orNull(c.CallID), "callid": orNull(c.CallID), "callid_b": orNull(d.CallIDB),
		"disposition": str(string(c.Disposition)), "trunk": num(b2i(d.Trunk)),
	}
	if c.LastSIPResponse == 0 {
		row["lastSIPresponse"] = str("0 no response")
	}
	for _, s := range []struct {
		p      string
		st     pbx.RTPStream
		pkts   uint64
		loss   float64
		jitter float64
	}{{"a_", d.A, c.RTPPacketsAB, c.LossAB, c.JitterABMillis}, {"b_", d.B, c.RTPPacketsBA, c.LossBA, c.JitterBAMillis}} {
		if s.pkts == 0 { // no stream arrived: VoIPmonitor shows none
			for _, k := range []string{"saddr", "sport", "daddr", "dport", "payload", "received", "lost", "maxjitter", "avgjitter", "mos_f1", "mos_f2", "mos_adapt", "packet_loss_perc"} {
				row[s.p+k] = nil
			}
			continue
		}
		row[s.p+"saddr"], row[s.p+"sport"] = orNull(s.st.SrcIP), num(s.st.SrcPort)
		row[s.p+"daddr"], row[s.p+"dport"] = orNull(s.st.DstIP), num(s.st.DstPort)
		pt := s.st.PayloadType
		if pt < 0 {
			pt = payloadOf(c.Codec)
		}
		row[s.p+"payload"] = num(pt)
		row[s.p+"received"], row[s.p+"lost"] = num(s.pkts), num(s.st.Lost)
		row[s.p+"maxjitter"], row[s.p+"avgjitter"] = fixedPtr(s.st.MaxJitterMillis, 2), fixedPtr(s.jitter, 2)
		mos := fixedPtr(s.st.MOS, 2)
		row[s.p+"mos_f1"], row[s.p+"mos_f2"], row[s.p+"mos_adapt"] = mos, mos, mos
		row[s.p+"packet_loss_perc"] = fixedPtr(100*s.loss, 4)
	}
	row["mos_min"] = fixedPtr(c.MOS, 2)
	if c.MOS == 0 {
		row["mos_min"] = nil
	}
	for i, n := range d.A.LossBursts { // the store keeps both streams' sum here
		row["sl"+strconv.Itoa(i+1)] = num(n)
	}
	for i, edge := range []string{"50", "70", "90", "120", "150", "200", "300"} {
		row["d"+edge] = num(d.A.DelayBuckets[i])
	}
	return row
}

func fixedPtr(v float64, prec int) *string { return str(fixed(v, prec)) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
