package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestCDRDetailRoundTrip: every CallDetail column is written and read
// back (the buckets as the sum of both streams, in A).
func TestCDRDetailRoundTrip(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	d := pbx.CallDetail{CallerName: "Jan", CallerDomain: "a.example", CalledDomain: "b.example", CallIDB: "leg-b@x", Trunk: true, NodeID: 3,
		A: pbx.RTPStream{SrcIP: "10.0.0.1", SrcPort: 4000, DstIP: "10.0.0.9", DstPort: 20000, PayloadType: 8, Lost: 3, MaxJitterMillis: 12.5, MOS: 4.1},
		B: pbx.RTPStream{SrcIP: "10.0.0.2", SrcPort: 4002, DstIP: "10.0.0.9", DstPort: 20002, PayloadType: 8, Lost: 1, MaxJitterMillis: 2.5, MOS: 4.3}}
	d.A.LossBursts[0], d.B.LossBursts[0], d.A.LossBursts[9] = 2, 1, 1
	d.A.DelayBuckets[6], d.B.DelayBuckets[1] = 4, 5
	c := pbx.CDR{Tenant: "t", CallDate: time.Now(), EndDate: time.Now(), Src: "1", Dst: "2", Detail: d}
	if err := s.InsertCDR(ctx, &c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCDR(ctx, "t", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := d
	want.A.LossBursts = [10]uint32{3, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	want.A.DelayBuckets = [7]uint32{0, 5, 0, 0, 0, 0, 4}
	want.B.LossBursts, want.B.DelayBuckets = [10]uint32{}, [7]uint32{}
	if !reflect.DeepEqual(got.Detail, want) {
		t.Fatalf("detail\n got %+v\nwant %+v", got.Detail, want)
	}
}

// TestSearchCDRs: AND of ORs, LIKE, IN, negation, dates, sorting and
// paging, the count and the grouped summary; unknown fields and operators
// are refused, and values are parameters (a quote is just a character).
func TestSearchCDRs(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []pbx.CDR
	for i := range 20 {
		c := pbx.CDR{Tenant: "t", CallDate: base.Add(time.Duration(i) * time.Hour), EndDate: base.Add(time.Duration(i)*time.Hour + time.Minute),
			Src: fmt.Sprint(100 + i%4), Dst: fmt.Sprint(200 + i%5), Duration: i, LastSIPResponse: 200, Codec: "PCMU", MOS: 4.2}
		if i%3 == 0 {
			c.LastSIPResponse, c.Codec, c.MOS = 486, "", 0
		}
		if i%2 == 0 {
			c.AnswerDate = c.CallDate
			c.RTPPacketsAB = 10
		}
		rows = append(rows, c)
	}
	rows = append(rows, pbx.CDR{Tenant: "other", CallDate: base, Src: "100", Dst: "200"})
	if err := s.BulkInsert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	q := pbx.CDRSearch{Tenant: "t", From: base.Add(2 * time.Hour), To: base.Add(17 * time.Hour),
		Where: []pbx.CDRCond{{{Field: pbx.FSrc, Op: pbx.OpEq, Value: "101"}, {Field: pbx.FDst, Op: pbx.OpLike, Value: "20%"}},
			{{Field: pbx.FLastSIP, Op: pbx.OpIn, Values: []any{int64(200), int64(486)}}},
			{{Field: pbx.FDuration, Op: pbx.OpGt, Value: int64(3)}, {Field: pbx.FDuration, Op: pbx.OpEq, Value: int64(2)}},
			{{Field: pbx.FSrc, Op: pbx.OpEq, Value: "103", Not: true}}},
		Sort: []pbx.CDRSort{{Field: pbx.FDuration, Desc: true}}, Limit: 5, Offset: 1}
	// hours 2..17, src != 103 (i%4 != 3): 2,4,5,6,8,9,10,12,13,14,16,17 minus 3 → 12 rows (2 included via =2)
	n, err := s.CountCDRs(ctx, q)
	if err != nil || n != 12 {
		t.Fatalf("count %d %v", n, err)
	}
	page, err := s.SearchCDRs(ctx, q)
	if err != nil || len(page) != 5 || page[0].Duration != 16 || page[4].Duration != 10 {
		t.Fatalf("page %v %v", page, err)
	}
	// An OR of indexed equalities drives the query (UNION of index
	// searches): the same rows as a scan, each once.
	want := 0
	for _, c := range rows[:20] {
		if (c.Src == "101" || c.Dst == "201") && !c.CallDate.Before(base.Add(3*time.Hour)) {
			want++
		}
	}
	drv := pbx.CDRSearch{Tenant: "t", From: base.Add(3 * time.Hour), Where: []pbx.CDRCond{{{Field: pbx.FSrc, Op: pbx.OpEq, Value: "101"}, {Field: pbx.FDst, Op: pbx.OpEq, Value: "201"}},
		{{Field: pbx.FDuration, Op: pbx.OpGe, Value: int64(0)}}}}
	if n, err := s.CountCDRs(ctx, drv); err != nil || n != int64(want) || want < 3 {
		t.Fatalf("driven count %d, want %d: %v", n, want, err)
	}
	if page, err := s.SearchCDRs(ctx, drv); err != nil || len(page) != want {
		t.Fatalf("driven page %d rows, want %d: %v", len(page), want, err)
	}
	groups, err := s.GroupCDRs(ctx, pbx.CDRSearch{Tenant: "t"}, pbx.FLastSIP)
	if err != nil || len(groups) != 2 || groups[0].Key != "200" || groups[0].Count != 13 || groups[1].Key != "486" || groups[1].Count != 7 {
		t.Fatalf("groups %+v %v", groups, err)
	}
	if groups[1].MOSAvg != 0 || groups[0].MOSAvg < 4.19 || groups[0].Answered != 6 {
		t.Fatalf("group figures %+v", groups)
	}
	if n, err := s.CountCDRs(ctx, pbx.CDRSearch{Tenant: "t", Where: []pbx.CDRCond{{{Field: pbx.FSrc, Op: pbx.OpEq, Value: "100' OR '1'='1"}}}}); err != nil || n != 0 {
		t.Fatalf("quote: %d %v", n, err)
	}
	for _, bad := range []pbx.CDRSearch{
		{Tenant: "t", Where: []pbx.CDRCond{{{Field: "src; DROP TABLE cdr", Op: pbx.OpEq, Value: "1"}}}},
		{Tenant: "t", Where: []pbx.CDRCond{{{Field: pbx.FSrc, Op: "OR 1=1 --", Value: "1"}}}},
		{Tenant: "t", Sort: []pbx.CDRSort{{Field: "1; --"}}},
		{Tenant: "t", Where: []pbx.CDRCond{{{Field: pbx.FSrc, Op: pbx.OpIn}}}},
		{Tenant: "t", Limit: -1},
	} {
		if _, err := s.SearchCDRs(ctx, bad); !errors.Is(err, store.ErrInvalidFilter) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
