package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// searchCols maps every searchable field to its column; nothing else ever
// reaches the SQL text (values are parameters). The CDR id the API shows
// is tenant_id.
var searchCols = map[pbx.CDRField]string{}

func init() {
	for _, f := range []pbx.CDRField{pbx.FCallDate, pbx.FSrc, pbx.FDst, pbx.FCallerName, pbx.FCallerDomain, pbx.FCalledDomain,
		pbx.FSrcIP, pbx.FDstIP, pbx.FASrcIP, pbx.FBSrcIP, pbx.FCodec, pbx.FDuration, pbx.FBillSec, pbx.FPDDMillis, pbx.FLastSIP,
		pbx.FHangupBy, pbx.FAnswerDate, pbx.FEndDate, pbx.FTrunk, pbx.FSrcUA, pbx.FDstUA, pbx.FCallID, pbx.FCallIDB, pbx.FNodeID, pbx.FMOS,
		pbx.FAMOS, pbx.FBMOS, pbx.FAMaxJitter, pbx.FBMaxJitter, pbx.FJitterAB, pbx.FJitterBA, pbx.FLossAB, pbx.FLossBA,
		pbx.FALost, pbx.FBLost, pbx.FSL1, pbx.FSL2, pbx.FSL3, pbx.FSL4, pbx.FSL5, pbx.FSL6, pbx.FSL7, pbx.FSL8, pbx.FSL9,
		pbx.FSL10, pbx.FD50, pbx.FD70, pbx.FD90, pbx.FD120, pbx.FD150, pbx.FD200, pbx.FD300, pbx.FDisposition, pbx.FUniqueID} {
		searchCols[f] = string(f)
	}
	searchCols[pbx.FID] = "tenant_id"
}

// maxInValues bounds one IN list (SQLite's parameter limit is 32766).
const maxInValues = 1000

func searchValue(f pbx.CDRField, v any) (any, error) {
	switch x := v.(type) {
	case time.Time:
		return micros(x), nil
	case string, int64, float64:
		return x, nil
	case int:
		return int64(x), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	}
	return nil, fmt.Errorf("field %s: value of type %T: %w", f, v, store.ErrInvalidFilter)
}

// indexedEq are the fields with an index led by (tenant, field): an
// equality on them picks few rows out of millions.
var indexedEq = map[pbx.CDRField]bool{pbx.FSrc: true, pbx.FDst: true, pbx.FCallID: true, pbx.FCallIDB: true, pbx.FUniqueID: true}

// driver finds a condition that can drive the query through the narrow
// indexes: every term an equality on an indexed field (one for an AND
// filter, several for VoIPmonitor's caller-OR-called). -1 when none.
func driver(q pbx.CDRSearch) int {
	for i, c := range q.Where {
		if len(c) == 0 {
			continue
		}
		ok := true
		for _, t := range c {
			if t.Op != pbx.OpEq || t.Not || !indexedEq[t.Field] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// searchWhere renders a search as a parameterised WHERE clause. Without
// statistics SQLite scans the date range for "date range AND (src = ? OR
// dst = ?)" (the OR hides the narrow indexes; a week of a million CDRs is
// 230,000 rows), so a condition of equalities on indexed fields becomes
// the query's driver: a UNION of one index search per term, each with the
// tenant and the date range, and the rest filters those rows.
func searchWhere(q pbx.CDRSearch) (string, []any, error) {
	base := []string{"tenant = ?"}
	baseArgs := []any{q.Tenant}
	if !q.From.IsZero() {
		base, baseArgs = append(base, "calldate >= ?"), append(baseArgs, micros(q.From))
	}
	if !q.To.IsZero() {
		base, baseArgs = append(base, "calldate <= ?"), append(baseArgs, micros(q.To))
	}
	var conds []string
	var args []any
	d := driver(q)
	if d < 0 {
		conds, args = base, baseArgs
	} else {
		var parts []string
		for _, t := range q.Where[d] {
			v, err := searchValue(t.Field, t.Value)
			if err != nil {
				return "", nil, err
			}
			parts = append(parts, "SELECT id FROM cdr WHERE "+strings.Join(base, " AND ")+" AND "+searchCols[t.Field]+" = ?")
			args = append(append(args, baseArgs...), v)
		}
		conds = []string{"id IN (" + strings.Join(parts, " UNION ") + ")"}
	}
	for i, c := range q.Where {
		if len(c) == 0 || i == d {
			continue
		}
		var ors []string
		for _, t := range c {
			col, ok := searchCols[t.Field]
			if !ok {
				return "", nil, fmt.Errorf("field %q: %w", t.Field, store.ErrInvalidFilter)
			}
			var sqlText string
			switch t.Op {
			case pbx.OpEq, pbx.OpNe, pbx.OpLt, pbx.OpLe, pbx.OpGt, pbx.OpGe:
				v, err := searchValue(t.Field, t.Value)
				if err != nil {
					return "", nil, err
				}
				sqlText, args = col+" "+string(t.Op)+" ?", append(args, v)
			case pbx.OpLike:
				v, ok := t.Value.(string)
				if !ok {
					return "", nil, fmt.Errorf("field %s: like needs a string: %w", t.Field, store.ErrInvalidFilter)
				}
				// LIKE is case-insensitive for ASCII in SQLite, as MySQL's
				// default collation is in VoIPmonitor.
				sqlText, args = col+" LIKE ?", append(args, v)
			case pbx.OpIn:
				if len(t.Values) == 0 || len(t.Values) > maxInValues {
					return "", nil, fmt.Errorf("field %s: 1 to %d values: %w", t.Field, maxInValues, store.ErrInvalidFilter)
				}
				for _, x := range t.Values {
					v, err := searchValue(t.Field, x)
					if err != nil {
						return "", nil, err
					}
					args = append(args, v)
				}
				sqlText = col + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(t.Values)), ",") + ")"
			default:
				return "", nil, fmt.Errorf("operator %q: %w", t.Op, store.ErrInvalidFilter)
			}
			if t.Not {
				sqlText = "NOT (" + sqlText + ")"
			}
			ors = append(ors, sqlText)
		}
		if len(ors) == 1 {
			conds = append(conds, ors[0])
		} else {
			conds = append(conds, "("+strings.Join(ors, " OR ")+")")
		}
	}
	return strings.Join(conds, " AND "), args, nil
}

func searchOrder(q pbx.CDRSearch) (string, error) {
	var parts []string
	for _, s := range q.Sort {
		col, ok := searchCols[s.Field]
		if !ok {
			return "", fmt.Errorf("sort field %q: %w", s.Field, store.ErrInvalidFilter)
		}
		dir := " ASC"
		if s.Desc {
			dir = " DESC"
		}
		parts = append(parts, col+dir)
	}
	if len(q.Sort) == 0 {
		parts = append(parts, "calldate DESC")
	}
	dir := " DESC"
	if len(q.Sort) > 0 && !q.Sort[len(q.Sort)-1].Desc {
		dir = " ASC"
	}
	return strings.Join(append(parts, "id"+dir), ", "), nil
}

func normalizeSearch(q pbx.CDRSearch) (pbx.CDRSearch, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return q, errors.Join(store.ErrInvalidFilter, errors.New("negative limit or offset"))
	}
	if q.Limit == 0 {
		q.Limit = store.DefaultLimit
	}
	q.Limit = min(q.Limit, store.MaxLimit)
	return q, nil
}

// SearchCDRs returns the page a structured search selects.
func (s *Store) SearchCDRs(ctx context.Context, q pbx.CDRSearch) ([]pbx.CDR, error) {
	q, err := normalizeSearch(q)
	if err != nil {
		return nil, err
	}
	w, args, err := searchWhere(q)
	if err != nil {
		return nil, err
	}
	order, err := searchOrder(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+selectCols+` FROM cdr WHERE `+w+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite search cdrs: %w", err)
	}
	defer rows.Close()
	out := []pbx.CDR{}
	for rows.Next() {
		c, err := scanCDR(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite scan cdr: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountCDRs counts what a search selects, regardless of paging.
func (s *Store) CountCDRs(ctx context.Context, q pbx.CDRSearch) (int64, error) {
	w, args, err := searchWhere(q)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM cdr WHERE `+w, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite count cdrs: %w", err)
	}
	return n, nil
}

// GroupCDRs summarises what a search selects per value of one field,
// the largest groups first. Averages of quality figures count only calls
// that had media (packets both ways), PDD only calls that rang.
func (s *Store) GroupCDRs(ctx context.Context, q pbx.CDRSearch, by pbx.CDRField) ([]pbx.CDRGroup, error) {
	col, ok := searchCols[by]
	if !ok {
		return nil, fmt.Errorf("group field %q: %w", by, store.ErrInvalidFilter)
	}
	w, args, err := searchWhere(q)
	if err != nil {
		return nil, err
	}
	const media = `(rtp_packets_ab > 0 OR rtp_packets_ba > 0)`
	rows, err := s.r.QueryContext(ctx, `SELECT CAST(`+col+` AS TEXT), count(*), sum(answerdate > 0), sum(duration), sum(billsec),
 coalesce(avg(CASE WHEN `+media+` THEN mos END), 0), coalesce(avg(CASE WHEN `+media+` THEN (loss_ab + loss_ba) / 2 END), 0),
 coalesce(avg(CASE WHEN `+media+` THEN max(jitter_ab_ms, jitter_ba_ms) END), 0), coalesce(avg(CASE WHEN pdd_ms > 0 THEN pdd_ms END), 0)
 FROM cdr WHERE `+w+` GROUP BY `+col+` ORDER BY count(*) DESC, `+col, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite group cdrs: %w", err)
	}
	defer rows.Close()
	out := []pbx.CDRGroup{}
	for rows.Next() {
		var g pbx.CDRGroup
		if err := rows.Scan(&g.Key, &g.Count, &g.Answered, &g.DurationSum, &g.BillSecSum, &g.MOSAvg, &g.LossAvg, &g.JitterAvg, &g.PDDAvg); err != nil {
			return nil, fmt.Errorf("sqlite scan group: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
