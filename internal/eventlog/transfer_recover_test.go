package eventlog

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

type rowCDRs struct {
	mu   sync.Mutex
	rows []pbx.CDR
}

func (m *rowCDRs) InsertCDR(_ context.Context, c *pbx.CDR) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.ID = int64(len(m.rows) + 1)
	m.rows = append(m.rows, *c)
	return nil
}

type events []pbx.StoredEvent

func (es events) CallEventsSince(context.Context, time.Time) ([]pbx.StoredEvent, error) {
	return es, nil
}

// TestTransferredCallRecoversItsCurrentLeg: 100 calls 101, 101 transfers
// 100 to 102, 102 answers, and the process dies. The first leg's row was
// written at the transfer; the call rebuilt from the logged events (their
// JSON, as the log keeps it) knows its current leg, so the interrupted
// row bills only 100 with 102, from 102's answer.
func TestTransferredCallRecoversItsCurrentLeg(t *testing.T) {
	clock := time.Unix(1800000000, 0).UTC()
	now := func() time.Time { return clock }
	dir := pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []pbx.ExtensionEntry{{Number: "100", Name: "Ann"}, {Number: "101"}, {Number: "102"}}}}}
	cdrs := &rowCDRs{}
	core, err := pbx.NewCore(dir, cdrs, pbx.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	sub := core.Subscribe("a", 100)
	ch1, call, err := core.NewCall("a", "100", "101", false, pbx.ChannelSpec{Dir: pbx.Inbound, Peer: "100", Exten: "100", CallerIDNum: "100", CallerIDName: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	ch2, _ := core.AddChannel("a", call.ID, pbx.ChannelSpec{Dir: pbx.Outbound, Peer: "101", Exten: "101", CallerIDNum: "100", CallerIDName: "Ann"})
	core.SetChannelState(ch2, pbx.ChanUp)
	core.CallAnswered("a", call.ID)
	clock = clock.Add(10 * time.Second)
	first, err := core.TransferLeg(context.Background(), "a", call.ID, ch1, ch2, pbx.Quality{CallID: "leg-100"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Src != "100" || first.Dst != "101" || first.BillSec != 10 || first.HangupBy != pbx.HangupTransfer || first.UniqueID != call.ID {
		t.Fatalf("first leg row %+v", first)
	}
	core.HangupChannel(ch2, "transferred")
	ch3, _ := core.AddChannel("a", call.ID, pbx.ChannelSpec{Dir: pbx.Outbound, Peer: "102", Exten: "102", CallerIDNum: "100", CallerIDName: "Ann"})
	core.CallTransferred("a", call.ID, ch2, ch3, "102")
	clock = clock.Add(3 * time.Second)
	core.SetChannelState(ch3, pbx.ChanUp)
	clock = clock.Add(7 * time.Second)

	var logged events
	for len(sub.C()) > 0 {
		e := <-sub.C()
		if e.Event.Type == pbx.EvCallTransferred && (e.Event.CDR == nil || e.Event.CDR.ID != first.ID) {
			t.Fatalf("call.transferred carries %+v, want the first leg's row", e.Event.CDR)
		}
		logged = append(logged, pbx.StoredEvent{Tenant: "a", Seq: e.Seq, Time: clock, Type: e.Event.Type, Body: Encode(e.Event)})
	}
	core.Close() // the crash: the call never ends here

	open, err := UnfinishedCalls(context.Background(), logged, time.Time{})
	if err != nil || len(open) != 1 {
		t.Fatalf("unfinished %+v %v", open, err)
	}
	if !open[0].Call.LegStart.Equal(first.EndDate) || open[0].Call.LegChannel != ch1.UniqueID {
		t.Fatalf("recovered leg start %v channel %s, want %v %s", open[0].Call.LegStart, open[0].Call.LegChannel, first.EndDate, ch1.UniqueID)
	}
	after := &rowCDRs{}
	core2, err := pbx.NewCore(dir, after, pbx.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer core2.Close()
	row, err := core2.RecordInterrupted(context.Background(), open[0].Call, open[0].Last)
	if err != nil {
		t.Fatal(err)
	}
	if row.Src != "100" || row.Dst != "102" || row.UniqueID != call.ID || row.Channel != ch1.Name || row.DstChannel != ch3.Name ||
		!row.CallDate.Equal(first.EndDate) || row.Duration != 10 || row.BillSec != 7 || row.Disposition != pbx.DispAnswered || row.EndStatus != string(pbx.EndInterrupted) {
		t.Fatalf("interrupted row of the current leg %+v", row)
	}
}
