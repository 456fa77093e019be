package sipengine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// sqliteRig is a rig whose CDRs go to a real SQLite file.
func sqliteRig(t *testing.T) (*rig, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cdr.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := newRigCDRs(t, 5*time.Second, pbx.Options{}, nil, st)
	t.Cleanup(func() { st.Close() }) // after the rig's cleanup (LIFO): the engine's last CDRs are written
	return r, st
}

// callRows reads a call's CDR rows from the store, oldest first.
func callRows(t *testing.T, st *sqlite.Store, uniqueID string) []pbx.CDR {
	t.Helper()
	rows, _, err := st.QueryCDRs(context.Background(), pbx.CDRFilter{Tenant: "t", UniqueID: uniqueID})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func absDiff(a, b time.Duration) time.Duration {
	if a > b {
		return a - b
	}
	return b - a
}

// TestBlindTransferCDRPerLeg (issue 10 item 7): 100 calls 101; one of
// them transfers the other to 102 with REFER. The call keeps one id and
// gets a CDR row per leg in the SQLite store: 100↔101 from the answer to
// the transfer (hangup_by "transfer"), then the transferee↔102 from the
// transfer on, billed from 102's answer, each row with the SIP Call-ID,
// user agents and post-dial delay of its own legs, and the durations
// partitioning the call. The target is offered the transferee's caller id
// and the ended leg's row travels with call.transferred.
func TestBlindTransferCDRPerLeg(t *testing.T) {
	for _, who := range []string{"callee", "caller"} {
		t.Run(who+" transfers", func(t *testing.T) {
			r, st := sqliteRig(t)
			p100 := newTestPhone(t, r, "100", "udp")
			p101 := newTestPhone(t, r, "101", "udp")
			p102 := newTestPhone(t, r, "102", "udp")
			p102.mu.Lock()
			p102.ringDelay = 400 * time.Millisecond
			p102.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pc100, err := p100.dial(ctx, "101")
			if err != nil {
				t.Fatal(err)
			}
			var pc101 *phoneCall
			select {
			case pc101 = <-p101.inbound:
			case <-ctx.Done():
				t.Fatal("101 not called")
			}
			ans := r.waitEvent(t, pbx.EvCallAnswered)
			callID := ans.Call.ID
			// 100 talks all along: each row counts its own leg's packets.
			talk, stopTalk := context.WithCancel(ctx)
			talked := make(chan struct{})
			go func() { defer close(talked); _ = pc100.rtp.PlayTone(talk, 440) }()
			time.Sleep(1200 * time.Millisecond) // 100 and 101 talk

			transferor, transferee, tpc := p101, "100", pc101
			if who == "caller" {
				transferor, transferee, tpc = p100, "101", pc100
			}
			if res, err := transferor.refer(ctx, tpc, "102"); err != nil || res.StatusCode != 202 {
				t.Fatalf("REFER: %v %v", res, err)
			}
			tr := r.waitEvent(t, pbx.EvCallTransferred)
			if tr.CDR == nil || tr.CDR.HangupBy != pbx.HangupTransfer || tr.CDR.Dst != "101" {
				t.Fatalf("call.transferred carries the ended leg's row %+v", tr.CDR)
			}
			var pc102 *phoneCall
			select {
			case pc102 = <-p102.inbound:
			case <-ctx.Done():
				t.Fatal("102 not called")
			}
			p102.mu.Lock()
			inv := p102.invites[len(p102.invites)-1]
			p102.mu.Unlock()
			if from := inv.From(); from.Address.User != transferee || from.DisplayName != "Ext "+transferee {
				t.Fatalf("102 offered %q <%s>, want the transferee %s", from.DisplayName, from.Address.User, transferee)
			}
			time.Sleep(1200 * time.Millisecond) // the transferee and 102 talk
			// The party that stays hangs up (for "callee transfers" the
			// original caller, else 102).
			stopTalk()
			<-talked
			sent := pc100.rtp.Stats().PacketsSent
			if who == "callee" {
				err = p100.hangup(pc100)
			} else {
				err = p102.hangup(pc102)
			}
			if err != nil {
				t.Fatal(err)
			}
			final := r.waitEnded(t)

			rows := callRows(t, st, callID)
			if len(rows) != 2 {
				t.Fatalf("%d CDR rows for call %s, want one per leg: %+v", len(rows), callID, rows)
			}
			first, second := rows[0], rows[1]
			if second.ID != final.ID || first.ID != tr.CDR.ID {
				t.Fatalf("rows %d, %d; transferred event row %d, ended event row %d", first.ID, second.ID, tr.CDR.ID, final.ID)
			}
			p101.mu.Lock()
			legTo101 := p101.invites[0].CallID().Value()
			p101.mu.Unlock()
			leg100 := pc100.cli.InviteRequest.CallID().Value()

			// First leg: 100 -> 101, answer to transfer.
			if first.Src != "100" || first.Dst != "101" || first.UniqueID != callID || first.HangupBy != pbx.HangupTransfer ||
				first.Disposition != pbx.DispAnswered || !strings.HasPrefix(first.Channel, "SIP/100-") || !strings.HasPrefix(first.DstChannel, "SIP/101-") ||
				first.CallID != leg100 || first.SrcUserAgent != "testphone-100" || first.DstUserAgent != "testphone-101" || first.BillSec < 1 {
				t.Fatalf("first leg row %+v", first)
			}
			if first.PDDMillis >= 400 {
				t.Fatalf("first leg PDD %d ms: 101 rings at once", first.PDDMillis)
			}
			// Second leg: the transferee -> 102, from the transfer on.
			wantSrcLeg, wantSrcUA, wantChan, wantBy := leg100, "testphone-100", "SIP/100-", "caller"
			if who == "caller" {
				wantSrcLeg, wantSrcUA, wantChan, wantBy = legTo101, "testphone-101", "SIP/101-", "callee"
			}
			if second.Src != transferee || second.Dst != "102" || second.UniqueID != callID || second.HangupBy != wantBy ||
				second.Disposition != pbx.DispAnswered || !strings.HasPrefix(second.Channel, wantChan) || !strings.HasPrefix(second.DstChannel, "SIP/102-") ||
				second.CallID != wantSrcLeg || second.SrcUserAgent != wantSrcUA || second.DstUserAgent != "testphone-102" || second.BillSec < 1 ||
				second.CLID != `"Ext `+transferee+`" <`+transferee+`>` {
				t.Fatalf("second leg row %+v", second)
			}
			if second.PDDMillis < 400 || second.PDDMillis > 3000 {
				t.Fatalf("second leg PDD %d ms, want 102's own (it waits 400 ms before ringing)", second.PDDMillis)
			}
			// The legs meet at the transfer and partition the call.
			if !second.CallDate.Equal(first.EndDate) || second.AnswerDate.Before(second.CallDate) {
				t.Fatalf("legs: first ends %v, second offered %v answered %v", first.EndDate, second.CallDate, second.AnswerDate)
			}
			total := second.EndDate.Sub(first.CallDate)
			if d := time.Duration(first.Duration+second.Duration) * time.Second; absDiff(d, total) > time.Second {
				t.Fatalf("durations %d + %d s, call lasted %v", first.Duration, second.Duration, total)
			}
			talkTime := first.EndDate.Sub(first.AnswerDate) + second.EndDate.Sub(second.AnswerDate)
			if d := time.Duration(first.BillSec+second.BillSec) * time.Second; absDiff(d, talkTime) > time.Second {
				t.Fatalf("billsecs %d + %d s, talk time %v", first.BillSec, second.BillSec, talkTime)
			}
			// 100's packets split between the rows (row 1 counts them as
			// caller -> callee; in the second leg of "caller transfers"
			// 100 is gone).
			if first.RTPPacketsAB < 20 || first.RTPPacketsAB > sent {
				t.Fatalf("first leg counted %d of 100's %d packets", first.RTPPacketsAB, sent)
			}
			if who == "callee" && (second.RTPPacketsAB < 20 || first.RTPPacketsAB+second.RTPPacketsAB > sent) {
				t.Fatalf("second leg counted %d of 100's %d packets (first %d): not its own", second.RTPPacketsAB, sent, first.RTPPacketsAB)
			}
		})
	}
}
