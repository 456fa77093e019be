package sms_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
)

// delivered counts DELIVERED events and closes done at want.
type delivered struct {
	n, want atomic.Int64
	done    chan struct{}
}

func (d *delivered) Publish(_ string, e pbx.Event) error {
	if e.Data["status"] == string(sms.Delivered) && d.n.Add(1) == d.want.Load() {
		close(d.done)
	}
	return nil
}

// BenchmarkSimThroughput: messages a second through the whole outbox
// (SQLite with synchronous=FULL, one insert and four updates per
// message, the CDR) and the sim driver with 1 ms steps: from Send until
// the last message is DELIVERED.
//
//	go test -run x -bench SimThroughput -benchtime 2000x ./internal/sms/
func BenchmarkSimThroughput(b *testing.B) {
	st := openStoreB(b, filepath.Join(b.TempDir(), "sms.db"))
	defer st.Close()
	d := &delivered{done: make(chan struct{})}
	d.want.Store(int64(b.N))
	box, err := sms.New(sms.Options{Store: st, CDRs: st, Publisher: d, Workers: 32,
		Tenants: map[string]sms.TenantConfig{"t1": {Driver: &sms.Sim{SendDelay: time.Millisecond, DeliverDelay: time.Millisecond}}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := box.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer box.Close()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := box.Send(ctx, sms.Request{Tenant: "t1", To: "48600100200", Body: "benchmark"}); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-d.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d delivered", d.n.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
