package sqlite

import (
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// detailCols are the columns of pbx.CallDetail (migration 0016). The
// loss-burst and delay buckets are kept as the sum of both streams (what
// VoIPmonitor's filters compare); they read back into Detail.A, and
// Detail.B's buckets stay zero.
const detailCols = `caller_name, caller_domain, called_domain, callid_b,
 a_saddr, a_sport, a_daddr, a_dport, a_payload, a_lost, a_maxjitter, a_mos,
 b_saddr, b_sport, b_daddr, b_dport, b_payload, b_lost, b_maxjitter, b_mos,
 sl1, sl2, sl3, sl4, sl5, sl6, sl7, sl8, sl9, sl10, d50, d70, d90, d120, d150, d200, d300, trunk, node_id`

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
	return append(out, d.Trunk, d.NodeID)
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
	return append(out, &d.Trunk, &d.NodeID)
}
