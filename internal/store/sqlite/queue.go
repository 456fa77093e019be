package sqlite

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var _ pbx.QueueLogger = (*Store)(nil)

// InsertQueueLog implements pbx.QueueLogger: one transaction per batch.
func (s *Store) InsertQueueLog(ctx context.Context, es []pbx.QueueLogEntry) error {
	if err := s.open(); err != nil {
		return err
	}
	tx, err := s.logw.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite queue log: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO queue_log (time, tenant, queue, call_id, agent, event, wait_ms, talk_ms, info) VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("sqlite queue log: %w", err)
	}
	defer st.Close()
	for _, e := range es {
		if _, err := st.ExecContext(ctx, micros(e.Time), e.Tenant, e.Queue, e.CallID, e.Agent, e.Event,
			e.Wait.Milliseconds(), e.Talk.Milliseconds(), e.Info); err != nil {
			return fmt.Errorf("sqlite queue log: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite queue log: commit: %w", err)
	}
	return nil
}

func statsWhere(f pbx.QueueStatsFilter) (string, []any) {
	conds, args := []string{"tenant = ?"}, []any{f.Tenant}
	if f.Queue != "" {
		conds, args = append(conds, "queue = ?"), append(args, f.Queue)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "time < ?"), append(args, micros(f.To))
	}
	return strings.Join(conds, " AND "), args
}

// QueueStats computes per-queue figures from the queue log. The 90th
// percentile wait is taken over answered calls, nearest-rank.
func (s *Store) QueueStats(ctx context.Context, f pbx.QueueStatsFilter) ([]pbx.QueueStats, error) {
	if f.ServiceLevel <= 0 {
		f.ServiceLevel = 20 * time.Second
	}
	w, args := statsWhere(f)
	rows, err := s.r.QueryContext(ctx, `SELECT queue, event, wait_ms, talk_ms FROM queue_log WHERE `+w+
		` AND event IN ('ENTERQUEUE','CONNECT','ABANDON','EXITWITHTIMEOUT','EXITEMPTY','FULL','JOINEMPTY','REMOVED','COMPLETECALLER','COMPLETEAGENT')`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite queue stats: %w", err)
	}
	defer rows.Close()
	type acc struct {
		st                  pbx.QueueStats
		waits               []int64
		talk, talkN, abWait int64
		withinSL            int
	}
	by := map[string]*acc{}
	for rows.Next() {
		var q, ev string
		var wait, talk int64
		if err := rows.Scan(&q, &ev, &wait, &talk); err != nil {
			return nil, fmt.Errorf("sqlite queue stats: %w", err)
		}
		a := by[q]
		if a == nil {
			a = &acc{st: pbx.QueueStats{Queue: q}}
			by[q] = a
		}
		switch ev {
		case "ENTERQUEUE":
			a.st.Offered++
		case "FULL", "JOINEMPTY":
			a.st.Offered++
			a.st.Other++
		case "CONNECT":
			a.st.Answered++
			a.waits = append(a.waits, wait)
			if wait <= f.ServiceLevel.Milliseconds() {
				a.withinSL++
			}
		case "ABANDON":
			a.st.Abandoned++
			a.abWait += wait
		case "EXITWITHTIMEOUT":
			a.st.TimedOut++
		case "EXITEMPTY", "REMOVED":
			a.st.Other++
		case "COMPLETECALLER", "COMPLETEAGENT":
			a.talk += talk
			a.talkN++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []pbx.QueueStats{}
	for _, a := range by {
		st := a.st
		if n := len(a.waits); n > 0 {
			sort.Slice(a.waits, func(i, j int) bool { return a.waits[i] < a.waits[j] })
			var sum int64
			for _, v := range a.waits {
				sum += v
			}
			st.AvgWaitSeconds = round2(float64(sum) / float64(n) / 1000)
			st.P90WaitSeconds = round2(float64(a.waits[int(math.Ceil(0.9*float64(n)))-1]) / 1000)
		}
		if st.Offered > 0 {
			st.ServiceLevelPct = round2(100 * float64(a.withinSL) / float64(st.Offered))
		}
		if a.talkN > 0 {
			st.AvgTalkSeconds = round2(float64(a.talk) / float64(a.talkN) / 1000)
		}
		if st.Abandoned > 0 {
			st.AvgAbandonSecond = round2(float64(a.abWait) / float64(st.Abandoned) / 1000)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out, nil
}

// AgentStats computes per-agent figures from the queue log.
func (s *Store) AgentStats(ctx context.Context, f pbx.QueueStatsFilter) ([]pbx.AgentStats, error) {
	w, args := statsWhere(f)
	rows, err := s.r.QueryContext(ctx, `SELECT queue, agent,
		sum(CASE WHEN event = 'CONNECT' THEN 1 ELSE 0 END),
		sum(CASE WHEN event = 'RINGNOANSWER' THEN 1 ELSE 0 END),
		sum(CASE WHEN event IN ('COMPLETECALLER','COMPLETEAGENT') THEN talk_ms ELSE 0 END),
		sum(CASE WHEN event IN ('COMPLETECALLER','COMPLETEAGENT') THEN 1 ELSE 0 END)
		FROM queue_log WHERE `+w+` AND agent != '' GROUP BY queue, agent ORDER BY queue, agent`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite agent stats: %w", err)
	}
	defer rows.Close()
	out := []pbx.AgentStats{}
	for rows.Next() {
		var a pbx.AgentStats
		var talk, n int64
		if err := rows.Scan(&a.Queue, &a.Agent, &a.Answered, &a.RingNoAnswer, &talk, &n); err != nil {
			return nil, fmt.Errorf("sqlite agent stats: %w", err)
		}
		a.TalkSeconds = round2(float64(talk) / 1000)
		if n > 0 {
			a.AvgTalkSeconds = round2(float64(talk) / float64(n) / 1000)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
