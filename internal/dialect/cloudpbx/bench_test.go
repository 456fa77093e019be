package cloudpbx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// BenchmarkCDRDay is GET /cdr for a day of 10,000 calls over a real HTTP
// connection (the CDR store is in memory, so this is the dialect's cost:
// the query, the zone conversion and the encoding). It reports the
// latency percentiles and the bytes per second served.
func BenchmarkCDRDay(b *testing.B) {
	f := newFixture(b)
	loc := warsaw()
	day := time.Date(2021, 12, 15, 0, 0, 0, 0, loc)
	for i := 0; i < maxCDRs; i++ {
		c := pbx.CDR{Tenant: tenant, CallDate: day.Add(time.Duration(i) * 8 * time.Second), CLID: `"Sekretariat 3" <101>`, Src: "101",
			Dst: "0048221234567", Channel: "SIP/101-00000001", DstChannel: "SIP/pstn-00000002", LastApp: "Dial", Duration: 65,
			BillSec: 60, Disposition: pbx.DispAnswered, UniqueID: fmt.Sprintf("1639523%03d.%d", i%1000, i), Rated: true, Zone: "Polska", Cost: 12}
		if err := f.cdrs.InsertCDR(context.Background(), &c); err != nil {
			b.Fatal(err)
		}
	}
	url := f.srv.URL + "/cdr?datestart=2021-12-15"
	lat := make([]time.Duration, 0, b.N)
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		res, err := f.srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
		lat = append(lat, time.Since(start))
		size = n
	}
	b.StopTimer()
	b.SetBytes(size)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
