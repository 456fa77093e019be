package voipmonitor

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Bounds on what one filter form may ask, so a huge value is a clear
// error and not a huge query.
const (
	maxValueLen  = 256  // one filter value
	maxListItems = 100  // comma-separated alternatives in one value
	defaultLimit = 30   // the GUI's page size
	maxLimit     = 5000 // one page
)

// listing is a parsed filter form: the search and how to answer it.
type listing struct {
	q        pbx.CDRSearch
	suppress bool
}

// payloadCodecs maps the spec's codec numbers to the codec names the
// engine records (only the ones it can negotiate; others match nothing).
var payloadCodecs = map[int]string{0: "PCMU", 8: "PCMA", 9: "G722"}

// dateLayouts are the date forms the GUI and its scripts send.
var dateLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

func parseDate(name, v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, paramErr(fmt.Sprintf("%s: %q is not a date (YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD HH:MM:SS)", name, clip(v)))
}

// clip bounds a client's value echoed in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// get reads a parameter, bounded; "" when absent.
func get(f url.Values, name string) (string, error) {
	v := strings.TrimSpace(f.Get(name))
	if len(v) > maxValueLen {
		return "", paramErr(fmt.Sprintf("%s: longer than %d characters", name, maxValueLen))
	}
	return v, nil
}

// textTerms turns one text filter value into its alternatives: a
// comma-separated list, each an exact value or, with % (any run) or _ (one
// character), a pattern; a leading ! negates the whole value. The GUI's
// number and name fields take these forms.
func textTerms(name string, field pbx.CDRField, v string) ([]pbx.CDRTerm, bool, error) {
	neg := strings.HasPrefix(v, "!")
	v = strings.TrimPrefix(v, "!")
	parts := strings.Split(v, ",")
	if len(parts) > maxListItems {
		return nil, false, paramErr(fmt.Sprintf("%s: more than %d alternatives", name, maxListItems))
	}
	var terms []pbx.CDRTerm
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		op := pbx.OpEq
		if strings.ContainsAny(p, "%_") {
			op = pbx.OpLike
		}
		terms = append(terms, pbx.CDRTerm{Field: field, Op: op, Value: p})
	}
	if len(terms) == 0 {
		return nil, false, paramErr(fmt.Sprintf("%s: empty value", name))
	}
	return terms, neg, nil
}

// pair applies one of the spec's caller/called pairs: type 0 searches the
// first value in either field (OR), type 1 each value in its own field
// (AND); with type 0 and only the second value given it applies to the
// second field.
func pair(f url.Values, q *pbx.CDRSearch, nameA, nameB, typeName string, fieldA, fieldB pbx.CDRField) error {
	va, err := get(f, nameA)
	if err != nil {
		return err
	}
	vb, err := get(f, nameB)
	if err != nil {
		return err
	}
	typ, err := get(f, typeName)
	if err != nil {
		return err
	}
	if typ != "" && typ != "0" && typ != "1" {
		return paramErr(fmt.Sprintf("%s: must be 0 (OR) or 1 (AND)", typeName))
	}
	if typ != "1" && va != "" {
		ta, neg, err := textTerms(nameA, fieldA, va)
		if err != nil {
			return err
		}
		tb, _, _ := textTerms(nameA, fieldB, va)
		if neg { // neither field matches
			addNot(q, ta)
			addNot(q, tb)
			return nil
		}
		q.Where = append(q.Where, append(ta, tb...))
		return nil
	}
	for _, x := range []struct {
		name, v string
		field   pbx.CDRField
	}{{nameA, va, fieldA}, {nameB, vb, fieldB}} {
		if x.v == "" {
			continue
		}
		t, neg, err := textTerms(x.name, x.field, x.v)
		if err != nil {
			return err
		}
		if neg {
			addNot(q, t)
		} else {
			q.Where = append(q.Where, t)
		}
	}
	return nil
}

// addNot requires none of terms to hold.
func addNot(q *pbx.CDRSearch, terms []pbx.CDRTerm) {
	for _, t := range terms {
		t.Not = true
		q.Where = append(q.Where, pbx.CDRCond{t})
	}
}

func number(name, v string) (float64, error) {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n != n || n > 1e12 || n < -1e12 {
		return 0, paramErr(fmt.Sprintf("%s: %q is not a number", name, clip(v)))
	}
	return n, nil
}

func boolParam(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, paramErr(fmt.Sprintf("%s: %q is not true or false", name, clip(v)))
}

// rangeParams reads a gt/lt pair. The spec's own example writes the
// duration range reversed (fdurationgt: 30 fdurationlt: 10 for "less than
// 30 and greater than 10") while its PDD example is literal; a range
// whose bounds cross can select nothing, so it is read as the interval
// between them, which serves both.
func rangeParams(f url.Values, q *pbx.CDRSearch, gtName, ltName string, field pbx.CDRField, scale float64) error {
	var gt, lt *float64
	for _, x := range []struct {
		name string
		dst  **float64
	}{{gtName, &gt}, {ltName, &lt}} {
		v, err := get(f, x.name)
		if err != nil {
			return err
		}
		if v == "" {
			continue
		}
		n, err := number(x.name, v)
		if err != nil {
			return err
		}
		*x.dst = &n
	}
	if gt != nil && lt != nil && *gt > *lt {
		gt, lt = lt, gt
	}
	if gt != nil {
		q.Where = append(q.Where, pbx.CDRCond{{Field: field, Op: pbx.OpGt, Value: *gt * scale}})
	}
	if lt != nil {
		q.Where = append(q.Where, pbx.CDRCond{{Field: field, Op: pbx.OpLt, Value: *lt * scale}})
	}
	return nil
}

// atLeast adds "any of fields >= v*scale" for a quality threshold.
func atLeast(f url.Values, q *pbx.CDRSearch, name string, scale float64, fields ...pbx.CDRField) error {
	v, err := get(f, name)
	if err != nil || v == "" {
		return err
	}
	n, err := number(name, v)
	if err != nil {
		return err
	}
	var c pbx.CDRCond
	for _, fl := range fields {
		c = append(c, pbx.CDRTerm{Field: fl, Op: pbx.OpGe, Value: n * scale})
	}
	q.Where = append(q.Where, c)
	return nil
}

// sortProperties maps the GUI's sortable columns to CDR fields.
var sortProperties = map[string]pbx.CDRField{
	"calldate": pbx.FCallDate, "calldate2": pbx.FCallDate, "ID": pbx.FID, "id": pbx.FID, "cdrId": pbx.FID,
	"duration": pbx.FDuration, "connect_duration": pbx.FBillSec, "caller": pbx.FSrc, "called": pbx.FDst,
	"callername": pbx.FCallerName, "caller_domain": pbx.FCallerDomain, "called_domain": pbx.FCalledDomain,
	"sipcallerip": pbx.FSrcIP, "sipcalledip": pbx.FDstIP, "lastSIPresponseNum": pbx.FLastSIP, "lastSIPresponse": pbx.FLastSIP,
	"a_saddr": pbx.FASrcIP, "b_saddr": pbx.FBSrcIP, "a_lost": pbx.FALost, "b_lost": pbx.FBLost,
	"a_maxjitter": pbx.FAMaxJitter, "b_maxjitter": pbx.FBMaxJitter, "a_avgjitter": pbx.FJitterAB, "b_avgjitter": pbx.FJitterBA,
	"a_mos_f1": pbx.FAMOS, "a_mos_f2": pbx.FAMOS, "a_mos_adapt": pbx.FAMOS, "b_mos_f1": pbx.FBMOS, "b_mos_f2": pbx.FBMOS,
	"b_mos_adapt": pbx.FBMOS, "mos_min": pbx.FMOS, "progress_time": pbx.FPDDMillis, "a_ua": pbx.FSrcUA, "b_ua": pbx.FDstUA,
	"whohanged": pbx.FHangupBy, "id_sensor": pbx.FNodeID, "fbasename": pbx.FCallID, "callid": pbx.FCallID,
}

// specialOrders are the spec's orderBy* switches, in the order they are
// applied when several are set.
var specialOrders = []struct {
	name string
	sort []pbx.CDRSort
}{
	{"orderByLoss", []pbx.CDRSort{{Field: pbx.FLossAB, Desc: true}, {Field: pbx.FLossBA, Desc: true}}},
	{"orderByDelay", []pbx.CDRSort{{Field: pbx.FD300, Desc: true}, {Field: pbx.FD200, Desc: true}, {Field: pbx.FD150, Desc: true}}},
	{"orderByFixed1", []pbx.CDRSort{{Field: pbx.FMOS}}},
	{"orderByFixed2", []pbx.CDRSort{{Field: pbx.FMOS}}},
	{"orderByAdapt", []pbx.CDRSort{{Field: pbx.FMOS}}},
	{"orderByCallDuration_asc", []pbx.CDRSort{{Field: pbx.FDuration}}},
	{"orderByCallDuration_desc", []pbx.CDRSort{{Field: pbx.FDuration, Desc: true}}},
	{"orderBySrcSIP_IP_asc", []pbx.CDRSort{{Field: pbx.FSrcIP}}},
	{"orderBySrcSIP_IP_desc", []pbx.CDRSort{{Field: pbx.FSrcIP, Desc: true}}},
	{"orderByDstSIP_IP_asc", []pbx.CDRSort{{Field: pbx.FDstIP}}},
	{"orderByDstSIP_IP_desc", []pbx.CDRSort{{Field: pbx.FDstIP, Desc: true}}},
	{"orderBySrcNumber_asc", []pbx.CDRSort{{Field: pbx.FSrc}}},
	{"orderBySrcNumber_desc", []pbx.CDRSort{{Field: pbx.FSrc, Desc: true}}},
	{"orderByDstNumber_asc", []pbx.CDRSort{{Field: pbx.FDst}}},
	{"orderByDstNumber_desc", []pbx.CDRSort{{Field: pbx.FDst, Desc: true}}},
	{"orderByCallerName_asc", []pbx.CDRSort{{Field: pbx.FCallerName}}},
	{"orderByCallerName_desc", []pbx.CDRSort{{Field: pbx.FCallerName, Desc: true}}},
	{"orderByLastSIPrespNum_asc", []pbx.CDRSort{{Field: pbx.FLastSIP}}},
	{"orderByLastSIPrespNum_desc", []pbx.CDRSort{{Field: pbx.FLastSIP, Desc: true}}},
}

// unsupported are filters of the spec this dialect cannot answer; they
// are refused rather than ignored (ignoring one would return calls the
// client meant to exclude).
var unsupported = []string{"ffilterTemplate"}

// parseFilter reads the spec's CDR filter form into a search of the
// principal's tenant. loc is the tenant's zone (the GUI's dates are
// local); sensorID is the id this node reports.
func parseFilter(f url.Values, tenant string, loc *time.Location, sensorID int, needDate bool) (listing, error) {
	l := listing{q: pbx.CDRSearch{Tenant: tenant}}
	q := &l.q
	for _, name := range unsupported {
		if f.Get(name) != "" {
			return l, paramErr(name + ": not supported by this server")
		}
	}
	from, err := get(f, "fdatefrom")
	if err != nil {
		return l, err
	}
	to, err := get(f, "fdateto")
	if err != nil {
		return l, err
	}
	if needDate && from == "" && to == "" {
		return l, paramErr("fdatefrom or fdateto is required")
	}
	if from != "" {
		if q.From, err = parseDate("fdatefrom", from, loc); err != nil {
			return l, err
		}
	}
	if to != "" {
		if q.To, err = parseDate("fdateto", to, loc); err != nil {
			return l, err
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return l, paramErr("fdateto is before fdatefrom")
	}
	pairs := []struct {
		a, b, typ      string
		fieldA, fieldB pbx.CDRField
	}{
		{"fcaller", "fcalled", "fcallerd_type", pbx.FSrc, pbx.FDst},
		{"fcaller_domain", "fcalled_domain", "fcallerd_domain_type", pbx.FCallerDomain, pbx.FCalledDomain},
		{"fsipcallerip", "fsipcalledip", "fsipcallerdip_type", pbx.FSrcIP, pbx.FDstIP},
		{"fa_saddr", "fb_saddr", "fab_saddr_type", pbx.FASrcIP, pbx.FBSrcIP},
		{"fa_ua", "fb_ua", "fab_ua_type", pbx.FSrcUA, pbx.FDstUA},
	}
	for _, p := range pairs {
		if err := pair(f, q, p.a, p.b, p.typ, p.fieldA, p.fieldB); err != nil {
			return l, err
		}
	}
	if v, err := get(f, "fcallername"); err != nil {
		return l, err
	} else if v != "" {
		t, neg, err := textTerms("fcallername", pbx.FCallerName, v)
		if err != nil {
			return l, err
		}
		if neg {
			addNot(q, t)
		} else {
			q.Where = append(q.Where, t)
		}
	}
	if v, err := get(f, "fcodec"); err != nil {
		return l, err
	} else if v != "" {
		var names []any
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 || n > 100000 {
				return l, paramErr(fmt.Sprintf("fcodec: %q is not a codec number", clip(s)))
			}
			if name, ok := payloadCodecs[n]; ok {
				names = append(names, name)
			}
		}
		if len(names) == 0 { // codecs this server never negotiates
			names = []any{"-"}
		}
		q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FCodec, Op: pbx.OpIn, Values: names}})
	}
	if err := rangeParams(f, q, "fdurationgt", "fdurationlt", pbx.FDuration, 1); err != nil {
		return l, err
	}
	if err := rangeParams(f, q, "fpddgt", "fpddlt", pbx.FPDDMillis, 1000); err != nil {
		return l, err
	}
	if v, err := get(f, "fsipresponse"); err != nil {
		return l, err
	} else if v != "" {
		var codes []any
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 || n > 999 {
				return l, paramErr(fmt.Sprintf("fsipresponse: %q is not a SIP response code", clip(s)))
			}
			codes = append(codes, int64(n))
		}
		q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FLastSIP, Op: pbx.OpIn, Values: codes}})
	}
	if v, err := get(f, "fbye"); err != nil {
		return l, err
	} else if v != "" {
		interrupted, err := boolParam("fbye", v)
		if err != nil {
			return l, err
		}
		// Interrupted: answered, but neither party's BYE ended it (the
		// system or the API did, or the node stopped).
		byBye := pbx.CDRCond{{Field: pbx.FHangupBy, Op: pbx.OpIn, Values: []any{"caller", "callee"}}, {Field: pbx.FAnswerDate, Op: pbx.OpEq, Value: int64(0)}}
		if interrupted {
			q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FAnswerDate, Op: pbx.OpGt, Value: int64(0)}},
				pbx.CDRCond{{Field: pbx.FHangupBy, Op: pbx.OpIn, Values: []any{"caller", "callee"}, Not: true}})
		} else {
			q.Where = append(q.Where, byBye)
		}
	}
	if v, err := get(f, "ftrunk"); err != nil {
		return l, err
	} else if v != "" {
		tr, err := boolParam("ftrunk", v)
		if err != nil {
			return l, err
		}
		q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FTrunk, Op: pbx.OpEq, Value: tr}})
	}
	if v, err := get(f, "fcallid"); err != nil {
		return l, err
	} else if v != "" {
		q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FCallID, Op: pbx.OpEq, Value: v}, {Field: pbx.FCallIDB, Op: pbx.OpEq, Value: v}})
	}
	if v, err := get(f, "fsensor_id"); err != nil {
		return l, err
	} else if v != "" {
		var c pbx.CDRCond
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 {
				return l, paramErr(fmt.Sprintf("fsensor_id: %q is not a sensor id", clip(s)))
			}
			c = append(c, sensorTerm(n, sensorID)...)
		}
		if len(c) == 0 {
			c = pbx.CDRCond{{Field: pbx.FNodeID, Op: pbx.OpEq, Value: int64(-1)}}
		}
		q.Where = append(q.Where, c)
	}
	for _, x := range []struct {
		name   string
		scale  float64
		fields []pbx.CDRField
	}{
		{"frtcp_maxjitter", 1, []pbx.CDRField{pbx.FAMaxJitter, pbx.FBMaxJitter}},
		{"frtcp_avgjitter", 1, []pbx.CDRField{pbx.FJitterAB, pbx.FJitterBA}},
		{"frtcp_maxfr", 0.01, []pbx.CDRField{pbx.FLossAB, pbx.FLossBA}},
		{"frtcp_avgfr", 0.01, []pbx.CDRField{pbx.FLossAB, pbx.FLossBA}},
		{"f_d50", 1, []pbx.CDRField{pbx.FD50}}, {"f_d70", 1, []pbx.CDRField{pbx.FD70}}, {"f_d90", 1, []pbx.CDRField{pbx.FD90}},
		{"f_d120", 1, []pbx.CDRField{pbx.FD120}}, {"f_d150", 1, []pbx.CDRField{pbx.FD150}}, {"f_d200", 1, []pbx.CDRField{pbx.FD200}},
		{"f_d300", 1, []pbx.CDRField{pbx.FD300}},
		{"floss1", 1, []pbx.CDRField{pbx.FSL1}}, {"floss2", 1, []pbx.CDRField{pbx.FSL2}}, {"floss3", 1, []pbx.CDRField{pbx.FSL3}},
		{"floss4", 1, []pbx.CDRField{pbx.FSL4}}, {"floss5", 1, []pbx.CDRField{pbx.FSL5}}, {"floss6", 1, []pbx.CDRField{pbx.FSL6}},
		{"floss7", 1, []pbx.CDRField{pbx.FSL7}}, {"floss8", 1, []pbx.CDRField{pbx.FSL8}}, {"floss9", 1, []pbx.CDRField{pbx.FSL9}},
		{"floss10", 1, []pbx.CDRField{pbx.FSL10}},
	} {
		if err := atLeast(f, q, x.name, x.scale, x.fields...); err != nil {
			return l, err
		}
	}
	// MOS filters find bad calls: a score at most the value, among calls
	// that had media (no media has no score, not a bad one).
	for _, name := range []string{"fmosf1", "fmosf2", "fmosadapt"} {
		v, err := get(f, name)
		if err != nil {
			return l, err
		}
		if v == "" {
			continue
		}
		n, err := number(name, v)
		if err != nil {
			return l, err
		}
		q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FMOS, Op: pbx.OpLe, Value: n}}, pbx.CDRCond{{Field: pbx.FMOS, Op: pbx.OpGt, Value: 0.0}})
	}
	if err := paging(f, q); err != nil {
		return l, err
	}
	if err := sorting(f, q); err != nil {
		return l, err
	}
	if v := f.Get("suppress_results"); v != "" {
		s, err := boolParam("suppress_results", v)
		if err != nil {
			return l, err
		}
		l.suppress = s
	}
	return l, nil
}

// sensorTerm selects the CDRs of sensor n: this node's id stands for the
// calls recorded without a node id (a single node).
func sensorTerm(n, own int) []pbx.CDRTerm {
	t := []pbx.CDRTerm{{Field: pbx.FNodeID, Op: pbx.OpEq, Value: int64(n)}}
	if n == own {
		t = append(t, pbx.CDRTerm{Field: pbx.FNodeID, Op: pbx.OpEq, Value: int64(0)})
	}
	return t
}

// paging reads limit, start and page (start wins over page).
func paging(f url.Values, q *pbx.CDRSearch) error {
	limit := defaultLimit
	if v, err := get(f, "limit"); err != nil {
		return err
	} else if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 || n == 0 {
			return paramErr("limit: a positive number (or -1 for all)")
		}
		if n == -1 || n > maxLimit {
			n = maxLimit
		}
		limit = n
	}
	q.Limit = limit
	start, page := f.Get("start"), f.Get("page")
	switch {
	case start != "":
		n, err := strconv.Atoi(start)
		if err != nil || n < 0 || n > 1<<30 {
			return paramErr("start: a non-negative number")
		}
		q.Offset = n
	case page != "":
		n, err := strconv.Atoi(page)
		if err != nil || n < 1 || n > 1<<30/limit {
			return paramErr("page: a number from 1")
		}
		q.Offset = (n - 1) * limit
	}
	return nil
}

// sorting reads sort (the GUI's JSON list) and the special orderings.
func sorting(f url.Values, q *pbx.CDRSearch) error {
	if v := f.Get("sort"); v != "" {
		if len(v) > 2048 {
			return paramErr("sort: too long")
		}
		var list []struct {
			Property  string `json:"property"`
			Direction string `json:"direction"`
		}
		if err := json.Unmarshal([]byte(v), &list); err != nil || len(list) > 8 {
			return paramErr(`sort: a JSON list like [{"property":"calldate2","direction":"DESC"}]`)
		}
		for _, s := range list {
			field, ok := sortProperties[s.Property]
			if !ok {
				return paramErr(fmt.Sprintf("sort: %q is not a sortable column", clip(s.Property)))
			}
			dir := strings.ToUpper(s.Direction)
			if dir != "" && dir != "ASC" && dir != "DESC" {
				return paramErr("sort: direction is ASC or DESC")
			}
			q.Sort = append(q.Sort, pbx.CDRSort{Field: field, Desc: dir == "DESC"})
		}
	}
	for _, o := range specialOrders {
		v := f.Get(o.name)
		if v == "" {
			continue
		}
		on, err := boolParam(o.name, v)
		if err != nil {
			return err
		}
		if on {
			q.Sort = append(q.Sort, o.sort...)
		}
	}
	if len(q.Sort) == 0 {
		q.Sort = []pbx.CDRSort{{Field: pbx.FCallDate, Desc: true}}
	}
	return nil
}

// ipList parses ip_not_allowed: addresses and CIDR prefixes.
func ipList(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxListItems || len(v) > 4096 {
		return nil, paramErr("ip_not_allowed: too many addresses")
	}
	for _, s := range parts {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, paramErr(fmt.Sprintf("ip_not_allowed: %q is not an address or prefix", clip(s)))
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
