// Package sqlite is the embedded CDR store: one database file, WAL mode,
// the pure-Go modernc.org/sqlite driver (no cgo, so the binary stays one
// static file; its cost is measured in the benchmarks), numbered embedded
// migrations and a group-commit writer.
//
// Durability: synchronous=FULL, so a committed CDR survives power loss, not
// only a process crash (WAL with NORMAL would survive kill -9 but could lose
// the last commits on power loss, and a billing record is worth an fsync).
// The fsync is paid once per batch: InsertCDR hands its row to the single
// writer goroutine, which commits everything queued in one transaction and
// then wakes all waiters.
//
// Only cmd wiring (internal/node) and tests import this package; services
// use the store interfaces.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxBatch bounds one group commit so a burst cannot hold the write lock
// for long.
const maxBatch = 512

// Options tune the store.
type Options struct {
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
}

// Store is the SQLite CDR store.
type Store struct {
	w, r   *sql.DB
	logw   *sql.DB // writes of the event, queue and audit logs (synchronous=NORMAL)
	reqs   chan insertReq
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.RWMutex
	closed bool
	// keysPruned is when expired idempotency keys were last deleted
	// (unix seconds).
	keysPruned atomic.Int64
	commits    commitHistogram
}

type insertReq struct {
	c    *pbx.CDR
	done chan error
}

var _ store.CDRStore = (*Store)(nil)

func dsn(path string, readOnly bool) string { return dsnSync(path, readOnly, "FULL") }

// dsnSync is dsn with a chosen synchronous level: FULL fsyncs every
// commit (CDRs, accounts); NORMAL in WAL mode survives a crash of the
// process but not of the machine, and does not fsync per commit — each
// fsync on ext4 (data=ordered) also flushes every other dirty file, so
// logs written many times a second must not fsync while recordings and
// captures stream to the same disk.
func dsnSync(path string, readOnly bool, sync string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	logw, err := sql.Open("sqlite", dsnSync(path, false, "NORMAL"))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite open %s: %w", path, err)
	}
	logw.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, logw: logw, reqs: make(chan insertReq, 4*maxBatch), stop: make(chan struct{})}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", f)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: commit: %w", f, err)
		}
	}
	return nil
}

// InsertCDR implements store.CDRStore.
func (s *Store) InsertCDR(ctx context.Context, c *pbx.CDR) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	req := insertReq{c: c, done: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// Once queued, the row will be written even if ctx ends; waiting for the
	// verdict keeps "durable when InsertCDR returns nil" true.
	return <-req.done
}

func (s *Store) writer() {
	defer s.wg.Done()
	batch := make([]insertReq, 0, maxBatch)
	for req := range s.reqs {
		batch = append(batch[:0], req)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		start := time.Now()
		err := s.commit(batch)
		s.commits.observe(time.Since(start), len(batch))
		for _, r := range batch {
			r.done <- err
		}
	}
}

// insertSQL numbers each CDR within its tenant (tenant_id, the id the API
// shows); the single writer connection makes max+1 safe.
var insertSQL = `INSERT INTO cdr (tenant_id, tenant, calldate, answerdate, enddate, clid, src, dst, channel, dstchannel,
 lastapp, duration, billsec, disposition, uniqueid, endstatus, callid, codec, pdd_ms, last_sip_response,
 hangup_by, src_ua, dst_ua, src_ip, dst_ip, rtp_packets_ab, rtp_packets_ba, loss_ab, loss_ba,
 jitter_ab_ms, jitter_ba_ms, mos, rated, zone, cost, ` + detailCols + `) VALUES ((SELECT coalesce(max(tenant_id), 0) + 1 FROM cdr WHERE tenant = ?1),
 ?1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,` + detailMarks + `) RETURNING tenant_id`

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func insertArgs(c *pbx.CDR) []any {
	return append([]any{c.Tenant, micros(c.CallDate), micros(c.AnswerDate), micros(c.EndDate), c.CLID, c.Src, c.Dst,
		c.Channel, c.DstChannel, c.LastApp, c.Duration, c.BillSec, string(c.Disposition), c.UniqueID, c.EndStatus,
		c.CallID, c.Codec, c.PDDMillis, c.LastSIPResponse, c.HangupBy, c.SrcUserAgent, c.DstUserAgent, c.SrcIP,
		c.DstIP, int64(c.RTPPacketsAB), int64(c.RTPPacketsBA), c.LossAB, c.LossBA, c.JitterABMillis,
		c.JitterBAMillis, c.MOS, c.Rated, c.Zone, c.Cost}, detailArgs(&c.Detail)...)
}

func (s *Store) commit(batch []insertReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite insert cdr: begin: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, insertSQL)
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("sqlite insert cdr: prepare: %w", err)
	}
	defer stmt.Close()
	ids := make([]int64, len(batch))
	for i, r := range batch {
		if err := stmt.QueryRowContext(ctx, insertArgs(r.c)...).Scan(&ids[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite insert cdr %s: %w", r.c.UniqueID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite insert cdr: commit: %w", err)
	}
	for i, r := range batch {
		r.c.ID = ids[i]
	}
	return nil
}

const selectCols = `tenant_id, tenant, calldate, answerdate, enddate, clid, src, dst, channel, dstchannel, lastapp,
 duration, billsec, disposition, uniqueid, endstatus, callid, codec, pdd_ms, last_sip_response, hangup_by,
 src_ua, dst_ua, src_ip, dst_ip, rtp_packets_ab, rtp_packets_ba, loss_ab, loss_ba, jitter_ab_ms, jitter_ba_ms, mos,
 rated, zone, cost, ` + detailCols

func scanCDR(sc interface{ Scan(...any) error }) (pbx.CDR, error) {
	var c pbx.CDR
	var cd, ad, ed, pab, pba int64
	var disp string
	err := sc.Scan(append([]any{&c.ID, &c.Tenant, &cd, &ad, &ed, &c.CLID, &c.Src, &c.Dst, &c.Channel, &c.DstChannel, &c.LastApp,
		&c.Duration, &c.BillSec, &disp, &c.UniqueID, &c.EndStatus, &c.CallID, &c.Codec, &c.PDDMillis,
		&c.LastSIPResponse, &c.HangupBy, &c.SrcUserAgent, &c.DstUserAgent, &c.SrcIP, &c.DstIP, &pab, &pba,
		&c.LossAB, &c.LossBA, &c.JitterABMillis, &c.JitterBAMillis, &c.MOS, &c.Rated, &c.Zone, &c.Cost}, detailDest(&c.Detail)...)...)
	c.CallDate, c.AnswerDate, c.EndDate = fromMicros(cd), fromMicros(ad), fromMicros(ed)
	c.RTPPacketsAB, c.RTPPacketsBA = uint64(pab), uint64(pba)
	c.Disposition = pbx.Disposition(disp)
	return c, err
}

// GetCDR implements store.CDRStore.
func (s *Store) GetCDR(ctx context.Context, tenant string, id int64) (pbx.CDR, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+selectCols+` FROM cdr WHERE tenant = ? AND tenant_id = ?`, tenant, id)
	c, err := scanCDR(row)
	if errors.Is(err, sql.ErrNoRows) {
		return pbx.CDR{}, store.ErrNotFound
	}
	if err != nil {
		return pbx.CDR{}, fmt.Errorf("sqlite get cdr %d: %w", id, err)
	}
	return c, nil
}

// where renders a filter as a parameterised WHERE clause.
func where(f pbx.CDRFilter) (string, []any) {
	conds := []string{"tenant = ?"}
	args := []any{f.Tenant}
	if !f.From.IsZero() {
		conds, args = append(conds, "calldate >= ?"), append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "calldate < ?"), append(args, f.To.UnixMicro())
	}
	if f.Number != "" {
		conds, args = append(conds, "(src = ? OR dst = ?)"), append(args, f.Number, f.Number)
	}
	if f.Src != "" {
		conds, args = append(conds, "src = ?"), append(args, f.Src)
	}
	if f.Dst != "" {
		conds, args = append(conds, "dst = ?"), append(args, f.Dst)
	}
	if f.UniqueID != "" {
		conds, args = append(conds, "uniqueid = ?"), append(args, f.UniqueID)
	}
	if f.CallID != "" {
		conds, args = append(conds, "(callid = ? OR callid_b = ?)"), append(args, f.CallID, f.CallID)
	}
	if f.Disposition != "" {
		conds, args = append(conds, "disposition = ?"), append(args, string(f.Disposition))
	}
	return strings.Join(conds, " AND "), args
}

// QueryCDRs implements store.CDRStore.
func (s *Store) QueryCDRs(ctx context.Context, f pbx.CDRFilter) ([]pbx.CDR, int, error) {
	f, err := store.NormalizeFilter(f)
	if err != nil {
		return nil, 0, err
	}
	w, args := where(f)
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM cdr WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite count cdrs: %w", err)
	}
	order := "ASC"
	if f.Descending {
		order = "DESC"
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+selectCols+` FROM cdr WHERE `+w+
		` ORDER BY calldate `+order+`, id `+order+` LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite query cdrs: %w", err)
	}
	defer rows.Close()
	out := []pbx.CDR{}
	for rows.Next() {
		c, err := scanCDR(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite scan cdr: %w", err)
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// Close waits for queued inserts to commit, then closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(s.r.Close(), s.logw.Close(), s.w.Close())
}

// BulkInsert writes many CDRs in one transaction without the per-batch
// wake-ups; it exists for imports and for building benchmark data sets.
func (s *Store) BulkInsert(ctx context.Context, cdrs []pbx.CDR) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, insertSQL)
	if err != nil {
		tx.Rollback()
		return err
	}
	defer stmt.Close()
	for i := range cdrs {
		if _, err := stmt.ExecContext(ctx, insertArgs(&cdrs[i])...); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}
