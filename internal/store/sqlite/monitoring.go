package sqlite

import (
	"sync/atomic"
	"time"
)

// CommitBuckets are the upper bounds (seconds) of the CDR commit latency
// histogram: a group commit with fsync takes a few milliseconds on an
// SSD and tens on a busy disk.
var CommitBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// commitHistogram counts CDR group commits by latency without locks.
type commitHistogram struct {
	buckets [12]atomic.Uint64 // len(CommitBuckets)+1: the last is +Inf
	count   atomic.Uint64
	rows    atomic.Uint64
	sumNs   atomic.Uint64
}

func (h *commitHistogram) observe(d time.Duration, rows int) {
	sec := d.Seconds()
	i := len(CommitBuckets)
	for j, b := range CommitBuckets {
		if sec <= b {
			i = j
			break
		}
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.rows.Add(uint64(rows))
	h.sumNs.Add(uint64(max(d, 0)))
}

// CommitStats describe the CDR group commits so far.
type CommitStats struct {
	// Commits and Rows: transactions and the CDRs they held.
	Commits, Rows uint64
	// Seconds is the total commit time; Buckets[i] counts commits of at
	// most CommitBuckets[i] seconds (not cumulative), the last one the rest.
	Seconds float64
	Buckets []uint64
}

// CommitStats returns the CDR commit latency counts.
func (s *Store) CommitStats() CommitStats {
	h := &s.commits
	st := CommitStats{Commits: h.count.Load(), Rows: h.rows.Load(), Buckets: make([]uint64, len(h.buckets))}
	st.Seconds = float64(h.sumNs.Load()) / float64(time.Second)
	for i := range h.buckets {
		st.Buckets[i] = h.buckets[i].Load()
	}
	return st
}
