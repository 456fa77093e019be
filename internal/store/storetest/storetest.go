// Package storetest is the conformance suite every CDR store backend runs,
// so SQLite and PostgreSQL answer the same filters the same way.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TestCDRStore runs the suite; open must return an empty store.
func TestCDRStore(t *testing.T, open func(t *testing.T) store.CDRStore) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	t.Run("round trip every field", func(t *testing.T) {
		s := open(t)
		in := pbx.CDR{Tenant: "t1", CallDate: base.Add(123456 * time.Microsecond), AnswerDate: base.Add(2 * time.Second),
			EndDate: base.Add(62 * time.Second), CLID: `"Jan" <1001>`, Src: "1001", Dst: "1002",
			Channel: "SIP/1001-00000001", DstChannel: "SIP/1002-00000002", LastApp: "Dial", Duration: 62, BillSec: 60,
			Disposition: pbx.DispAnswered, UniqueID: "1772366400.7", EndStatus: "answer", CallID: "abc@host", Codec: "PCMA",
			PDDMillis: 120, LastSIPResponse: 200, HangupBy: "caller", SrcUserAgent: "Zoiper", DstUserAgent: "Yealink",
			SrcIP: "10.0.0.1", DstIP: "10.0.0.2", RTPPacketsAB: 3000, RTPPacketsBA: 2999, LossAB: 0.01, LossBA: 0.002,
			JitterABMillis: 1.5, JitterBAMillis: 2.25, MOS: 4.2}
		in.Detail.A.PayloadType, in.Detail.B.PayloadType = 8, 8
		in.Detail.A.Series = []pbx.QualityPoint{{At: base.Add(7 * time.Second), Packets: 250, Lost: 0, JitterMs: 1.25, MOS: 4.4},
			{At: base.Add(12 * time.Second), Packets: 240, Lost: 10, JitterMs: 30.5, MOS: 3.1}}
		in.Detail.B.Series = []pbx.QualityPoint{{At: base.Add(7 * time.Second), Packets: 250, JitterMs: 0.5, MOS: 4.41}}
		if err := s.InsertCDR(ctx, &in); err != nil {
			t.Fatal(err)
		}
		if in.ID == 0 {
			t.Fatal("InsertCDR did not set ID")
		}
		got, err := s.GetCDR(ctx, "t1", in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
		}
		if _, err := s.GetCDR(ctx, "t2", in.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant's GetCDR: %v", err)
		}
		if _, err := s.GetCDR(ctx, "t1", in.ID+1000); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing GetCDR: %v", err)
		}
	})

	t.Run("ids count within each tenant", func(t *testing.T) {
		s := open(t)
		want := map[string]int64{}
		for i, tenant := range []string{"t1", "t2", "t2", "t1", "t2", "t1"} {
			c := pbx.CDR{Tenant: tenant, CallDate: base, EndDate: base, UniqueID: fmt.Sprint("x", i)}
			if err := s.InsertCDR(ctx, &c); err != nil {
				t.Fatal(err)
			}
			want[tenant]++
			if c.ID != want[tenant] {
				t.Fatalf("CDR %d of %s got id %d, want %d: ids must not reveal other tenants' volume", want[tenant], tenant, c.ID, want[tenant])
			}
			got, err := s.GetCDR(ctx, tenant, c.ID)
			if err != nil || got.UniqueID != c.UniqueID {
				t.Fatalf("GetCDR(%s, %d) = %+v, %v", tenant, c.ID, got, err)
			}
		}
	})

	t.Run("filters paging ordering", func(t *testing.T) {
		s := open(t)
		for i := 0; i < 30; i++ {
			c := pbx.CDR{Tenant: "t1", CallDate: base.Add(time.Duration(i) * time.Hour), EndDate: base.Add(time.Duration(i)*time.Hour + time.Minute),
				Src: fmt.Sprint(1000 + i%3), Dst: fmt.Sprint(2000 + i%5), Disposition: pbx.DispAnswered, UniqueID: fmt.Sprint("u", i),
				CallID: fmt.Sprint("a", i, "@h"), Detail: pbx.CallDetail{CallIDB: fmt.Sprint("b", i, "@h")}}
			if i%4 == 0 {
				c.Disposition = pbx.DispBusy
			}
			if err := s.InsertCDR(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
		other := pbx.CDR{Tenant: "t2", CallDate: base, Src: "1000", Dst: "2000", UniqueID: "x"}
		if err := s.InsertCDR(ctx, &other); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name      string
			f         pbx.CDRFilter
			total     int
			firstUniq string
			page      int
		}{
			{"tenant only", pbx.CDRFilter{Tenant: "t1"}, 30, "u0", 30},
			{"other tenant", pbx.CDRFilter{Tenant: "t2"}, 1, "x", 1},
			{"from inclusive to exclusive", pbx.CDRFilter{Tenant: "t1", From: base.Add(5 * time.Hour), To: base.Add(10 * time.Hour)}, 5, "u5", 5},
			{"number matches src or dst", pbx.CDRFilter{Tenant: "t1", Number: "1000"}, 10, "u0", 10},
			{"src", pbx.CDRFilter{Tenant: "t1", Src: "1001"}, 10, "u1", 10},
			{"dst", pbx.CDRFilter{Tenant: "t1", Dst: "2004"}, 6, "u4", 6},
			{"uniqueid", pbx.CDRFilter{Tenant: "t1", UniqueID: "u17"}, 1, "u17", 1},
			{"call id, caller's leg", pbx.CDRFilter{Tenant: "t1", CallID: "a12@h"}, 1, "u12", 1},
			{"call id, dialled leg", pbx.CDRFilter{Tenant: "t1", CallID: "b13@h"}, 1, "u13", 1},
			{"disposition", pbx.CDRFilter{Tenant: "t1", Disposition: pbx.DispBusy}, 8, "u0", 8},
			{"paging", pbx.CDRFilter{Tenant: "t1", Limit: 7, Offset: 7}, 30, "u7", 7},
			{"descending", pbx.CDRFilter{Tenant: "t1", Descending: true, Limit: 3}, 30, "u29", 3},
			{"offset past end", pbx.CDRFilter{Tenant: "t1", Offset: 100}, 30, "", 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rows, total, err := s.QueryCDRs(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if total != tc.total || len(rows) != tc.page {
					t.Fatalf("total %d page %d, want %d/%d", total, len(rows), tc.total, tc.page)
				}
				if tc.page > 0 && rows[0].UniqueID != tc.firstUniq {
					t.Fatalf("first %s, want %s", rows[0].UniqueID, tc.firstUniq)
				}
			})
		}
		if _, _, err := s.QueryCDRs(ctx, pbx.CDRFilter{Tenant: "t1", Offset: -1}); !errors.Is(err, store.ErrInvalidFilter) {
			t.Fatalf("negative offset: %v", err)
		}
		if _, _, err := s.QueryCDRs(ctx, pbx.CDRFilter{Tenant: "t1", From: base, To: base.Add(-time.Hour)}); !errors.Is(err, store.ErrInvalidFilter) {
			t.Fatalf("to before from: %v", err)
		}
	})

	t.Run("default and maximum limit", func(t *testing.T) {
		s := open(t)
		batch := make([]pbx.CDR, 120)
		for i := range batch {
			batch[i] = pbx.CDR{Tenant: "t", CallDate: base.Add(time.Duration(i) * time.Second), UniqueID: fmt.Sprint(i)}
			if err := s.InsertCDR(ctx, &batch[i]); err != nil {
				t.Fatal(err)
			}
		}
		rows, total, _ := s.QueryCDRs(ctx, pbx.CDRFilter{Tenant: "t"})
		if len(rows) != store.DefaultLimit || total != 120 {
			t.Fatalf("default limit: %d rows of %d", len(rows), total)
		}
		rows, _, _ = s.QueryCDRs(ctx, pbx.CDRFilter{Tenant: "t", Limit: store.MaxLimit * 10})
		if len(rows) != 120 {
			t.Fatalf("capped limit returned %d", len(rows))
		}
	})

	t.Run("concurrent inserts all land", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		ids := make(chan int64, 400)
		for g := 0; g < 40; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					c := pbx.CDR{Tenant: "c", CallDate: base, UniqueID: fmt.Sprint(g, ".", i)}
					if err := s.InsertCDR(ctx, &c); err != nil {
						t.Error(err)
						return
					}
					ids <- c.ID
				}
			}()
		}
		wg.Wait()
		close(ids)
		seen := map[int64]bool{}
		for id := range ids {
			if seen[id] {
				t.Fatalf("duplicate id %d", id)
			}
			seen[id] = true
		}
		_, total, err := s.QueryCDRs(ctx, pbx.CDRFilter{Tenant: "c"})
		if err != nil || total != 400 || len(seen) != 400 {
			t.Fatalf("total %d, ids %d, err %v", total, len(seen), err)
		}
	})
}
