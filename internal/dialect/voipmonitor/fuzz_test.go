package voipmonitor

import (
	"net/url"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// knownFields is every field the parser may put in a search; a backend
// refuses any other, so the parser must never produce one.
var knownFields = map[pbx.CDRField]bool{}

func init() {
	for _, f := range []pbx.CDRField{pbx.FCallDate, pbx.FID, pbx.FSrc, pbx.FDst, pbx.FCallerName, pbx.FCallerDomain, pbx.FCalledDomain,
		pbx.FSrcIP, pbx.FDstIP, pbx.FASrcIP, pbx.FBSrcIP, pbx.FCodec, pbx.FDuration, pbx.FBillSec, pbx.FPDDMillis, pbx.FLastSIP,
		pbx.FHangupBy, pbx.FAnswerDate, pbx.FEndDate, pbx.FTrunk, pbx.FSrcUA, pbx.FDstUA, pbx.FCallID, pbx.FCallIDB, pbx.FNodeID,
		pbx.FMOS, pbx.FAMOS, pbx.FBMOS, pbx.FAMaxJitter, pbx.FBMaxJitter, pbx.FJitterAB, pbx.FJitterBA, pbx.FLossAB, pbx.FLossBA,
		pbx.FALost, pbx.FBLost, pbx.FSL1, pbx.FSL2, pbx.FSL3, pbx.FSL4, pbx.FSL5, pbx.FSL6, pbx.FSL7, pbx.FSL8, pbx.FSL9, pbx.FSL10,
		pbx.FD50, pbx.FD70, pbx.FD90, pbx.FD120, pbx.FD150, pbx.FD200, pbx.FD300, pbx.FDisposition, pbx.FUniqueID} {
		knownFields[f] = true
	}
}

// FuzzParseFilter: any query string either fails with a parameter error
// or gives a search of known fields, bounded paging and bounded lists.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		"fdatefrom=2013-05-08T00:00:00&fcaller=190",
		"fdatefrom=2013-05-08&fcaller=19%25,20_&fcalled=!5&fcallerd_type=1&fcodec=0,8,18&fdurationgt=30&fdurationlt=10",
		`fdateto=2013-05-28 00:00:00&sort=[{"property":"calldate2","direction":"DESC"}]&page=3&limit=50&orderByLoss=1`,
		"fdatefrom=2020-01-01&fsipresponse=486,503&fbye=true&ftrunk=0&fsensor_id=1,2&frtcp_maxjitter=30&fmosf1=3.1&floss3=2&f_d300=1",
		"fdatefrom=2020-01-01&fa_saddr=10.0.0.1&fb_saddr=10.0.0.2&fab_saddr_type=0&fcallid=abc@x&suppress_results=1",
		"fdatefrom=x&limit=-5&start=-1&sort=[",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		l, err := parseFilter(vals, "t", time.UTC, 1, false)
		if err != nil {
			status, _ := errorReply(err)
			if status != 400 {
				t.Fatalf("%q: error %v maps to %d, want 400", raw, err, status)
			}
			return
		}
		if l.q.Tenant != "t" || l.q.Limit < 1 || l.q.Limit > maxLimit || l.q.Offset < 0 {
			t.Fatalf("%q: search %+v", raw, l.q)
		}
		for _, c := range l.q.Where {
			for _, term := range c {
				if !knownFields[term.Field] || len(term.Values) > maxListItems*2 {
					t.Fatalf("%q: term %+v", raw, term)
				}
			}
		}
		for _, s := range l.q.Sort {
			if !knownFields[s.Field] {
				t.Fatalf("%q: sort %+v", raw, s)
			}
		}
	})
}

// FuzzDecodeParams: api.php's params either decode to 1..maxParamSets
// objects or fail with a parameter error; never a panic.
func FuzzDecodeParams(f *testing.F) {
	for _, seed := range []string{`{"cdrId":4919}`, `[{"startTime":"2013-01-01"},{"caller":"1"}]`, `{"a":1}}`, `{"a":1}}}`, `[]`, `"x"`, `{`, ``} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ps, _, err := decodeParams([]byte(raw))
		if err != nil {
			if status, _ := errorReply(err); status != 400 {
				t.Fatalf("%q: %v maps to %d", raw, err, status)
			}
			return
		}
		if len(ps) < 1 || len(ps) > maxParamSets {
			t.Fatalf("%q: %d param sets", raw, len(ps))
		}
	})
}

// TestParseCDRFilter: the spec's object literal and its variants.
func TestParseCDRFilter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want url.Values
	}{
		{`{fcallid:"uDR8mtloKFa1F8625VL2OXSFp.RuG73v"}`, url.Values{"fcallid": {"uDR8mtloKFa1F8625VL2OXSFp.RuG73v"}}},
		{` { "fcaller" : '2001', fdurationgt: 10 , ftrunk:true, fcalled: null } `, url.Values{"fcaller": {"2001"}, "fdurationgt": {"10"}, "ftrunk": {"true"}}},
		{`{fcallername:"a \"b\", c"}`, url.Values{"fcallername": {`a "b", c`}}},
		{`{}`, url.Values{}},
	} {
		got, err := parseCDRFilter(tc.in)
		if err != nil || got.Encode() != tc.want.Encode() {
			t.Errorf("%s: %v %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{``, `{`, `fcallid:"x"`, `{fcallid}`, `{fcallid:}`, `{fcallid:"x" fcaller:"y"}`, `{:"x"}`, `{fcallid:"x}`} {
		if _, err := parseCDRFilter(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// FuzzParseCDRFilter: never a panic; an accepted filter has bounded keys.
func FuzzParseCDRFilter(f *testing.F) {
	for _, s := range []string{`{fcallid:"uDR8mtloKFa1F8625VL2OXSFp.RuG73v"}`, `{"a":'b',c:1,d:null}`, `{a:"\"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseCDRFilter(s)
		if err == nil && len(v) > 64 {
			t.Fatalf("%d keys", len(v))
		}
	})
}
