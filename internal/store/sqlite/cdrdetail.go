package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// detailCols are the columns of pbx.CallDetail (migration 0016). The
// loss-burst and delay buckets are kept as the sum of both streams (what
// VoIPmonitor's filters compare); they read back into Detail.A, and
// Detail.B's buckets stay zero.
const detailCols = `caller_name, caller_domain, called_domain, callid_b,
 a_saddr, a_sport, a_daddr, a_dport, a_payload, a_lost, a_maxjitter, a_mos,
 b_saddr, b_sport, b_daddr, b_dport, b_payload, b_lost, b_maxjitter, b_mos,
 sl1, sl2, sl3, sl4, sl5, sl6, sl7, sl8, sl9, sl10, d50, d70, d90, d120, d150, d200, d300, trunk, node_id, quality_series`

var detailMarks = strings.TrimSuffix(strings.Repeat("?,", strings.Count(detailCols, ",")+1), ",")

func detailArgs(d *pbx.CallDetail) []any {
	out := []any{d.CallerName, d.CallerDomain, d.CalledDomain, d.CallIDB,
		d.A.SrcIP, d.A.SrcPort, d.A.DstIP, d.A.DstPort, d.A.PayloadType, d.A.Lost, d.A.MaxJitterMillis, d.A.MOS,
		d.B.SrcIP, d.B.SrcPort, d.B.DstIP, d.B.DstPort, d.B.PayloadType, d.B.Lost, d.B.MaxJitterMillis, d.B.MOS}
	for i := range d.A.LossBursts {
		out = append(out, int64(d.A.LossBursts[i])+int64(d.B.LossBursts[i]))
	}
	for i := range d.A.DelayBuckets {
		out = append(out, int64(d.A.DelayBuckets[i])+int64(d.B.DelayBuckets[i]))
	}
	return append(out, d.Trunk, d.NodeID, encodeSeries(d))
}

func detailDest(d *pbx.CallDetail) []any {
	out := []any{&d.CallerName, &d.CallerDomain, &d.CalledDomain, &d.CallIDB,
		&d.A.SrcIP, &d.A.SrcPort, &d.A.DstIP, &d.A.DstPort, &d.A.PayloadType, &d.A.Lost, &d.A.MaxJitterMillis, &d.A.MOS,
		&d.B.SrcIP, &d.B.SrcPort, &d.B.DstIP, &d.B.DstPort, &d.B.PayloadType, &d.B.Lost, &d.B.MaxJitterMillis, &d.B.MOS}
	for i := range d.A.LossBursts {
		out = append(out, &d.A.LossBursts[i])
	}
	for i := range d.A.DelayBuckets {
		out = append(out, &d.A.DelayBuckets[i])
	}
	return append(out, &d.Trunk, &d.NodeID, seriesDest{d})
}

// The quality series of both streams, stored as one JSON text (migration
// 0021): points are only ever read whole, with their CDR.
type seriesPoint struct {
	At       time.Time `json:"at"`
	Packets  int64     `json:"packets"`
	Lost     int64     `json:"lost"`
	JitterMs float64   `json:"jitter_ms"`
	MOS      float64   `json:"mos"`
}

type seriesDoc struct {
	A []seriesPoint `json:"a,omitempty"`
	B []seriesPoint `json:"b,omitempty"`
}

func toPoints(s []pbx.QualityPoint) []seriesPoint {
	out := make([]seriesPoint, len(s))
	for i, p := range s {
		out[i] = seriesPoint{At: p.At.UTC(), Packets: p.Packets, Lost: p.Lost, JitterMs: p.JitterMs, MOS: p.MOS}
	}
	return out
}

func fromPoints(s []seriesPoint) []pbx.QualityPoint {
	if len(s) == 0 {
		return nil
	}
	out := make([]pbx.QualityPoint, len(s))
	for i, p := range s {
		out[i] = pbx.QualityPoint{At: p.At, Packets: p.Packets, Lost: p.Lost, JitterMs: p.JitterMs, MOS: p.MOS}
	}
	return out
}

func encodeSeries(d *pbx.CallDetail) string {
	if len(d.A.Series) == 0 && len(d.B.Series) == 0 {
		return ""
	}
	b, err := json.Marshal(seriesDoc{A: toPoints(d.A.Series), B: toPoints(d.B.Series)})
	if err != nil {
		return "" // plain numbers and times: cannot fail
	}
	return string(b)
}

// seriesDest scans quality_series into the detail's streams.
type seriesDest struct{ d *pbx.CallDetail }

func (s seriesDest) Scan(v any) error {
	var text string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		text = x
	case []byte:
		text = string(x)
	default:
		return fmt.Errorf("quality_series: unexpected %T", v)
	}
	if text == "" {
		return nil
	}
	var doc seriesDoc
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return fmt.Errorf("quality_series: %w", err)
	}
	s.d.A.Series, s.d.B.Series = fromPoints(doc.A), fromPoints(doc.B)
	return nil
}
