package voipmonitor

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden pins the wire shapes: a LISTING row of a call with both
// streams and of a failed call, a CDR_stats group, pcap2text's brief_data
// rows (one address hidden) and bypass_login's answer.
func TestGolden(t *testing.T) {
	a := &API{sensorID: 1}
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	answered := pbx.CDR{ID: 17, Tenant: "t", CallDate: start, AnswerDate: start.Add(2 * time.Second), EndDate: start.Add(62 * time.Second),
		Src: "2001", Dst: "1001", Duration: 62, BillSec: 60, Disposition: pbx.DispAnswered, UniqueID: "1772357400.17",
		CallID: "a84b4c76e66710@pc33", Codec: "PCMU", PDDMillis: 850, LastSIPResponse: 200, HangupBy: "callee",
		SrcUserAgent: "Yealink SIP-T46S", DstUserAgent: "switchboard-bot", SrcIP: "192.0.2.10", DstIP: "192.0.2.20",
		RTPPacketsAB: 3000, RTPPacketsBA: 2990, LossAB: 0.001, LossBA: 0.0033, JitterABMillis: 1.25, JitterBAMillis: 3.5, MOS: 4.31,
		Detail: pbx.CallDetail{CallerName: "Phone 2001", CallerDomain: "mojacentrala.local", CalledDomain: "mojacentrala.local", CallIDB: "leg-b-uuid",
			A: pbx.RTPStream{SrcIP: "192.0.2.10", SrcPort: 40000, DstIP: "198.51.100.1", DstPort: 21000, PayloadType: 0, Lost: 3, MaxJitterMillis: 4.5, MOS: 4.4},
			B: pbx.RTPStream{SrcIP: "192.0.2.20", SrcPort: 40002, DstIP: "198.51.100.1", DstPort: 21002, PayloadType: 0, Lost: 10, MaxJitterMillis: 9.75, MOS: 4.31}}}
	answered.Detail.A.LossBursts[0], answered.Detail.A.LossBursts[2] = 4, 1
	answered.Detail.A.DelayBuckets[0] = 2
	busy := pbx.CDR{ID: 18, Tenant: "t", CallDate: start, EndDate: start.Add(time.Second), Src: "2001", Dst: "555486", Duration: 1,
		Disposition: pbx.DispBusy, UniqueID: "1772357400.18", CallID: "busy@pc33", LastSIPResponse: 486, HangupBy: "callee", SrcIP: "192.0.2.10",
		Detail: pbx.CallDetail{A: pbx.RTPStream{PayloadType: -1}, B: pbx.RTPStream{PayloadType: -1}}}
	t0 := start
	msgs := []capture.Message{
		{Time: t0, Src: netip.MustParseAddrPort("192.0.2.10:5060"), Dst: netip.MustParseAddrPort("198.51.100.1:5060"), Line: "INVITE sip:1001@198.51.100.1 SIP/2.0", Method: "INVITE", Length: 812, Raw: "INVITE ...\r\nContent-Type: application/sdp\r\n\r\nv=0"},
		{Time: t0.Add(5 * time.Millisecond), Src: netip.MustParseAddrPort("198.51.100.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.10:5060"), Line: "SIP/2.0 100 Trying", Status: 100, Length: 320},
		{Time: t0.Add(10 * time.Millisecond), Src: netip.MustParseAddrPort("198.51.100.1:5060"), Dst: netip.MustParseAddrPort("10.2.2.7:5060"), Line: "INVITE sip:1001@10.2.2.7 SIP/2.0", Method: "INVITE", Length: 790},
		{Time: t0.Add(1500 * time.Millisecond), Src: netip.MustParseAddrPort("198.51.100.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.10:5060"), Line: "SIP/2.0 180 Ringing via 10.2.2.7", Status: 180, Length: 400},
	}
	hidden, err := ipList("10.1.1.1,10.2.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]any{
		"listing_row_answered": a.row(answered, warsaw),
		"listing_row_busy":     a.row(busy, warsaw),
		"cdr_stats_group":      statsOf(pbx.CDRGroup{Key: "200", Count: 110011, Answered: 109141, DurationSum: 5400000, BillSecSum: 5388692, MOSAvg: 4.36034442, LossAvg: 0.0015386185, JitterAvg: 1.03656707, PDDAvg: 116.5833}),
		"brief_data":           briefReply{Results: briefRows(msgs, hidden), Total: 3, Success: true},
		"bypass_login":         loginReply{SID: "ahs2ubdhc0ukb262be60v900ko", CookieName: "PHPSESSID-demo", Success: true, VMVersion: vmVersion},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", name, path, got)
			}
		})
	}
}
