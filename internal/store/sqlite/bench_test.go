package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func benchCDR(i int, base time.Time) pbx.CDR {
	return pbx.CDR{Tenant: "bench", CallDate: base.Add(time.Duration(i) * 3 * time.Second), EndDate: base.Add(time.Duration(i)*3*time.Second + time.Minute),
		Src: fmt.Sprint(1000 + i%500), Dst: fmt.Sprint(2000 + i%700), Disposition: pbx.DispAnswered,
		UniqueID: fmt.Sprint("1700000000.", i), Channel: "SIP/1001-00000001", Codec: "PCMU", MOS: 4.4, Duration: 60, BillSec: 55}
}

// BenchmarkInsertSerial: one caller at a time, so every insert pays its own fsync.
func BenchmarkInsertSerial(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := benchCDR(i, base)
		if err := s.InsertCDR(context.Background(), &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cdrs/s")
}

// BenchmarkInsertConcurrent64: 64 calls ending at once share group commits.
func BenchmarkInsertConcurrent64(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := benchCDR(i, base)
				if err := s.InsertCDR(context.Background(), &c); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cdrs/s")
}

// BenchmarkQueryMillionRows measures a dashboard query (tenant, one day,
// one number, 50 rows, with total) over 1,000,000 CDRs and reports p99.
func BenchmarkQueryMillionRows(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "million.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const rows = 1_000_000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]pbx.CDR, 0, 50_000)
	for i := 0; i < rows; i++ {
		batch = append(batch, benchCDR(i, base))
		if len(batch) == cap(batch) {
			if err := s.BulkInsert(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	// 1M rows at 3 s apart span ~35 days.
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		day := base.Add(time.Duration(rand.IntN(34)) * 24 * time.Hour)
		f := pbx.CDRFilter{Tenant: "bench", From: day, To: day.Add(24 * time.Hour), Number: fmt.Sprint(1000 + rand.IntN(500)), Limit: 50, Descending: true}
		t0 := time.Now()
		res, total, err := s.QueryCDRs(ctx, f)
		durs = append(durs, time.Since(t0))
		if err != nil || total == 0 || len(res) == 0 {
			b.Fatalf("query: %v total=%d", err, total)
		}
	}
	b.StopTimer()
	slices.Sort(durs)
	p := func(q float64) float64 { return float64(durs[int(float64(len(durs)-1)*q)].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50_ms")
	b.ReportMetric(p(0.99), "p99_ms")
}
