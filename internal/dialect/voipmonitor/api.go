package voipmonitor

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// rowsReply is the answer of api.php's listing tasks: the count and the
// rows, numbers as JSON strings like the GUI's.
type rowsReply struct {
	Total string   `json:"total"`
	Rows  []cdrRow `json:"rows"`
}

// api serves php/api.php (HTTP API 2): user and password in every
// request, auditReason to the audit log.
func (a *API) api(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	var p auth.Principal
	req, err := parseAPIRequest(sw, r)
	defer func() { a.d.AuditRequest(r, p, Name, "api "+req.Task, r.URL.Path, sw.status, req.AuditReason) }()
	if err != nil {
		a.fail(sw, r, err)
		return
	}
	switch {
	case req.User == "" && req.Password == "":
		if p, err = a.anonymous(r, fmt.Errorf("no user or password: %w", auth.ErrBadCredentials)); err != nil {
			a.fail(sw, r, err)
			return
		}
	case req.User == "" || req.Password == "":
		a.fail(sw, r, fmt.Errorf("no user or password: %w", auth.ErrBadCredentials))
		return
	default:
		if p, err = a.d.Gate.Login(r.Context(), "", req.User, req.Password, dialect.RemoteIP(r)); err != nil {
			a.log.Info("api login refused", "account", dialect.LogName(req.User), "remote", r.RemoteAddr, "err", err)
			a.fail(sw, r, err)
			return
		}
	}
	if len(req.Params) > 1 && req.Task != "getVoipCalls" {
		a.fail(sw, r, paramErr("params: a list is accepted by getVoipCalls only"))
		return
	}
	switch req.Task {
	case "getVoipCalls":
		err = a.getVoipCalls(sw, r, p, req)
	case "listCdrIds":
		err = a.listCdrIds(sw, r, p, req)
	case "listActiveCalls":
		err = a.listActiveCalls(sw, p, req.Params[0])
	case "handleActiveCall":
		err = a.handleActiveCall(sw, r, p, req.Params[0])
	case "getPCAP":
		err = a.getPCAP(sw, r, p, req.Params[0])
	case "getVoiceRecording":
		err = a.getVoiceRecording(sw, r, p, req.Params[0])
	case "reportSummary":
		err = a.reportSummary(sw, r, p, req.Params[0])
	case "getShareURL":
		err = a.getShareURL(sw, r, p, req.Params[0])
	case "":
		err = paramErr("task is required")
	default:
		err = fmt.Errorf("task %q: %w", clip(req.Task), errUnknownTask)
	}
	if err != nil {
		a.fail(sw, r, err)
	}
}

// getVoipCalls' own params; any other key is a custom header filter.
var voipCallsKeys = map[string]bool{"startTime": true, "startTimeTo": true, "endTime": true, "callEnd": true, "caller": true,
	"called": true, "onlyConnected": true, "customHeaders": true}

// getVoipCalls lists CDRs by start time, numbers and connection. With a
// list of params the rows of every set are returned once each. The
// spec's examples bound the start with endTime, which is read as
// startTimeTo. switchboard stores no custom SIP headers: a custom header
// filter matches no call, and each requested customHeaders column is
// null.
func (a *API) getVoipCalls(w http.ResponseWriter, r *http.Request, p auth.Principal, req apiRequest) error {
	if !p.Can(auth.ReadCDRs) {
		return dialect.ErrForbidden
	}
	loc := a.d.Service.Location(p)
	seen := map[int64]bool{}
	out := rowsReply{Rows: []cdrRow{}}
	for _, ps := range req.Params {
		q := pbx.CDRSearch{Tenant: p.Tenant, Limit: maxLimit, Sort: []pbx.CDRSort{{Field: pbx.FCallDate}}}
		start, ok := ps.str("startTime")
		if !ok || start == "" {
			return paramErr("startTime is required")
		}
		var err error
		if q.From, err = parseDate("startTime", start, loc); err != nil {
			return err
		}
		for _, name := range []string{"startTimeTo", "endTime"} {
			if v, ok := ps.str(name); ok && v != "" {
				if q.To, err = parseDate(name, v, loc); err != nil {
					return err
				}
			}
		}
		if v, ok := ps.str("callEnd"); ok && v != "" {
			end, err := parseDate("callEnd", v, loc)
			if err != nil {
				return err
			}
			q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FEndDate, Op: pbx.OpLe, Value: end}})
		}
		for _, x := range []struct {
			name  string
			field pbx.CDRField
		}{{"caller", pbx.FSrc}, {"called", pbx.FDst}} {
			if v, ok := ps.str(x.name); ok && v != "" {
				if len(v) > maxValueLen {
					return paramErr(x.name + ": too long")
				}
				q.Where = append(q.Where, pbx.CDRCond{{Field: x.field, Op: pbx.OpEq, Value: v}})
			}
		}
		connected, err := ps.flag("onlyConnected")
		if err != nil {
			return err
		}
		if connected {
			q.Where = append(q.Where, pbx.CDRCond{{Field: pbx.FAnswerDate, Op: pbx.OpGt, Value: int64(0)}})
		}
		customFilter := false
		for k := range ps {
			if !voipCallsKeys[k] {
				customFilter = true
			}
		}
		if customFilter {
			continue // no CDR carries a custom header
		}
		rows, err := a.search(r.Context(), p, q)
		if err != nil {
			return err
		}
		var custom []string
		if v, ok := ps.str("customHeaders"); ok && v != "" {
			custom = strings.Split(v, ",")
			if len(custom) > maxListItems {
				return paramErr("customHeaders: too many")
			}
		}
		for _, c := range rows {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			row := a.row(c, loc)
			for _, h := range custom {
				row[strings.TrimSpace(h)] = nil
			}
			out.Rows = append(out.Rows, row)
		}
	}
	out.Total = strconv.Itoa(len(out.Rows))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listCdrIds pages through CDRs by id: size rows from id offset on
// (inclusive, as "starting point is offset"). flags 0x01 gives only id
// and calldate, 0x02 ISO 8601 dates.
func (a *API) listCdrIds(w http.ResponseWriter, r *http.Request, p auth.Principal, req apiRequest) error {
	if !p.Can(auth.ReadCDRs) {
		return dialect.ErrForbidden
	}
	ps := req.Params[0]
	offset, err := ps.intParam("offset", 0, 0, 1<<53)
	if err != nil {
		return err
	}
	size, err := ps.intParam("size", 100, 1, maxLimit)
	if err != nil {
		return err
	}
	q := pbx.CDRSearch{Tenant: p.Tenant, Limit: int(size), Sort: []pbx.CDRSort{{Field: pbx.FID}},
		Where: []pbx.CDRCond{{{Field: pbx.FID, Op: pbx.OpGe, Value: offset}}}}
	rows, err := a.search(r.Context(), p, q)
	if err != nil {
		return err
	}
	loc := a.d.Service.Location(p)
	date := func(t time.Time) *string {
		if req.Flags&0x02 != 0 && !t.IsZero() {
			return str(t.In(loc).Format(time.RFC3339))
		}
		return dateTime(t, loc)
	}
	out := rowsReply{Total: strconv.Itoa(len(rows)), Rows: make([]cdrRow, 0, len(rows))}
	for _, c := range rows {
		row := cdrRow{"cdrId": num(c.ID), "calldate": date(c.CallDate)}
		if req.Flags&0x01 == 0 {
			row["callend"], row["duration"], row["connect_duration"] = date(c.EndDate), num(c.Duration), num(c.BillSec)
			row["caller"], row["called"], row["lastSIPresponseNum"] = str(c.Src), str(c.Dst), num(c.LastSIPResponse)
			row["fbasename"] = orNull(c.CallID)
		}
		out.Rows = append(out.Rows, row)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listActiveCalls lists live calls: callRef is the call's id (what
// handleActiveCall takes), with the codec, SIP and RTP addresses and the
// quality measured so far (packets, loss, jitter, MOS per direction);
// those are null when the engine cannot say.
func (a *API) listActiveCalls(w http.ResponseWriter, p auth.Principal, ps params) error {
	if v, ok := ps.str("sensorId"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return paramErr("sensorId: a sensor number")
		}
		if n != a.sensorID {
			writeJSON(w, http.StatusOK, rowsReply{Total: "0", Rows: []cdrRow{}})
			return nil
		}
	}
	calls, err := a.d.Service.Calls(p)
	if err != nil {
		return err
	}
	loc, now := a.d.Service.Location(p), a.now()
	out := rowsReply{Total: strconv.Itoa(len(calls)), Rows: make([]cdrRow, 0, len(calls))}
	for _, c := range calls {
		state := "ringing"
		connect := 0
		if !c.Answered.IsZero() {
			state, connect = "connected", int(now.Sub(c.Answered)/time.Second)
		}
		row := cdrRow{"callRef": str(c.ID), "sensorId": num(a.sensorID), "calldate": dateTime(c.Created, loc),
			"caller": str(c.From), "called": str(c.To), "state": str(state), "direction": str(string(c.Direction)),
			"duration": num(int(now.Sub(c.Created) / time.Second)), "connect_duration": num(connect), "callername": nil}
		if len(c.Channels) > 0 {
			row["callername"] = orNull(c.Channels[0].CallerIDName)
		}
		for _, k := range []string{"codec", "sipcallerip", "sipcalledip", "a_ua", "b_ua", "fbasename", "callid_b", "mos_min"} {
			row[k] = nil
		}
		if q, err := a.d.Service.CallQuality(p, c.ID); err == nil {
			a.liveQuality(row, q)
		}
		out.Rows = append(out.Rows, row)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// liveQuality adds what the media path measured so far to an active
// call's row, in LISTING's column names.
func (a *API) liveQuality(row cdrRow, q pbx.Quality) {
	cdr := a.row(pbx.CDR{Codec: q.Codec, SrcIP: q.SrcIP, DstIP: q.DstIP, SrcUserAgent: q.SrcUserAgent, DstUserAgent: q.DstUserAgent,
		CallID: q.CallID, RTPPacketsAB: q.PacketsAB, RTPPacketsBA: q.PacketsBA, LossAB: q.LossAB, LossBA: q.LossBA,
		JitterABMillis: q.JitterABMillis, JitterBAMillis: q.JitterBAMillis, MOS: q.MOS, Detail: q.Detail}, time.UTC)
	for _, k := range []string{"sipcallerip", "sipcalledip", "a_ua", "b_ua", "fbasename", "callid_b", "mos_min"} {
		row[k] = cdr[k]
	}
	row["codec"] = orNull(q.Codec)
	for _, side := range []string{"a_", "b_"} {
		for _, k := range []string{"saddr", "sport", "daddr", "dport", "payload", "received", "lost", "maxjitter", "avgjitter", "mos_f1", "mos_f2", "mos_adapt", "packet_loss_perc"} {
			row[side+k] = cdr[side+k]
		}
	}
}

// handleActiveCall pauses or resumes a live call (pausecall /
// unpausecall): its capture keeps RTP headers but not audio (so audio
// decoded from it is silent there), and its running recording pauses.
// It answers 404 when the call has neither a captured RTP nor a
// recording.
func (a *API) handleActiveCall(w http.ResponseWriter, r *http.Request, p auth.Principal, ps params) error {
	cmd, _ := ps.str("command")
	ref, _ := ps.str("callRef")
	var action string
	switch cmd {
	case "pausecall":
		action = "pause"
	case "unpausecall":
		action = "resume"
	default:
		return paramErr("command: pausecall or unpausecall")
	}
	if ref == "" || len(ref) > maxValueLen {
		return paramErr("callRef is required (a callRef from listActiveCalls)")
	}
	if v, ok := ps.str("sensorId"); ok && v != "" && v != strconv.Itoa(a.sensorID) {
		return fmt.Errorf("sensor %s: %w", clip(v), pbx.ErrNotFound)
	}
	call, err := a.d.Service.FindCall(p, ref)
	if err != nil {
		return err
	}
	captured := true
	if err := a.d.Service.PauseCapture(r.Context(), p, call.ID, action == "pause"); err != nil {
		if !errors.Is(err, pbx.ErrNotFound) && !errors.Is(err, pbx.ErrNotSupported) {
			return err
		}
		captured = false
	}
	recorded := false
	recs, _, err := a.d.Service.Recordings(r.Context(), p, pbx.RecordingFilter{CallID: call.ID, Limit: 20})
	if err != nil && !errors.Is(err, dialect.ErrForbidden) {
		return err
	}
	for _, rec := range recs {
		if rec.State != pbx.RecActive && rec.State != pbx.RecPaused {
			continue
		}
		if _, err := a.d.Service.RecordingAction(r.Context(), p, rec.ID, action); err != nil {
			return err
		}
		recorded = true
	}
	if !captured && !recorded {
		return fmt.Errorf("call %s has no captured RTP and no recording: %w", call.ID, pbx.ErrNotFound)
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "callRef": call.ID, "command": cmd, "capture": captured, "recording": recorded})
	return nil
}

// maxLegs bounds the CDRs one Call-ID lookup merges.
const maxLegs = 20

// cdrsByCallID finds the CDRs whose leg had this SIP Call-ID, oldest
// first; with cidInterval, also the other CDRs of the call (legs written
// by a transfer) that started within that many seconds of the first.
func (a *API) cdrsByCallID(ctx context.Context, p auth.Principal, ps params) ([]pbx.CDR, error) {
	cid, ok := ps.str("callId")
	if !ok || cid == "" || len(cid) > maxValueLen {
		return nil, paramErr("callId or cdrId is required")
	}
	interval, err := ps.intParam("cidInterval", 0, 0, 86400)
	if err != nil {
		return nil, err
	}
	q := pbx.CDRSearch{Tenant: p.Tenant, Limit: maxLegs, Sort: []pbx.CDRSort{{Field: pbx.FCallDate}},
		Where: []pbx.CDRCond{{{Field: pbx.FCallID, Op: pbx.OpEq, Value: cid}, {Field: pbx.FCallIDB, Op: pbx.OpEq, Value: cid}}}}
	rows, err := a.search(ctx, p, q)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("call id: %w", pbx.ErrNotFound)
	}
	if interval > 0 {
		first := rows[0]
		more, err := a.search(ctx, p, pbx.CDRSearch{Tenant: p.Tenant, Limit: maxLegs, Sort: []pbx.CDRSort{{Field: pbx.FCallDate}},
			From: first.CallDate.Add(-time.Duration(interval) * time.Second), To: first.CallDate.Add(time.Duration(interval) * time.Second),
			Where: []pbx.CDRCond{{{Field: pbx.FUniqueID, Op: pbx.OpEq, Value: first.UniqueID}}}})
		if err != nil {
			return nil, err
		}
		rows = mergeByID(rows, more)
	}
	return rows, nil
}

func mergeByID(a, b []pbx.CDR) []pbx.CDR {
	seen := map[int64]bool{}
	for _, c := range a {
		seen[c.ID] = true
	}
	for _, c := range b {
		if !seen[c.ID] {
			a = append(a, c)
		}
	}
	return a
}

// cdrByParams finds the CDR a cdrId, or else callId, names.
func (a *API) cdrByParams(ctx context.Context, p auth.Principal, ps params) ([]pbx.CDR, error) {
	if v, ok := ps.str("cdrId"); ok && v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, paramErr("cdrId: a CDR id")
		}
		c, err := a.getCDR(ctx, p, id)
		if err != nil {
			return nil, err
		}
		return []pbx.CDR{c}, nil
	}
	if _, ok := ps.str("customHeader"); ok {
		return nil, fmt.Errorf("customHeader: switchboard stores no custom headers: %w", pbx.ErrNotFound)
	}
	return a.cdrsByCallID(ctx, p, ps)
}

// getPCAP serves the capture of the call a callId (or cdrId) names; with
// cidMerge every leg found within cidInterval is merged into one file,
// and zip wraps it in a ZIP archive.
func (a *API) getPCAP(w http.ResponseWriter, r *http.Request, p auth.Principal, ps params) error {
	if !p.Can(auth.ReadPCAP) {
		return dialect.ErrForbidden
	}
	legs, err := a.cdrByParams(r.Context(), p, ps)
	if err != nil {
		return err
	}
	merge, err := ps.flag("cidMerge")
	if err != nil {
		return err
	}
	zipped, err := ps.flag("zip")
	if err != nil {
		return err
	}
	if !merge {
		legs = legs[:1]
	}
	return a.servePCAP(w, r, p, legs, false, zipped)
}

// servePCAP writes the captures of legs (merged when several) as one
// PCAP, optionally SIP only or zipped.
func (a *API) servePCAP(w http.ResponseWriter, r *http.Request, p auth.Principal, legs []pbx.CDR, sipOnly, zipped bool) error {
	if a.d.Artifacts == nil {
		return fmt.Errorf("captures: %w", pbx.ErrNotSupported)
	}
	if len(legs) == 1 && !sipOnly && !zipped {
		// One file as it is: streamed (with Range), not held in memory.
		f, err := a.d.Artifacts.OpenCapture(p.Tenant, legs[0].UniqueID)
		if err != nil {
			return err
		}
		defer f.Close()
		return serveFile(w, r, f, legs[0].UniqueID+".pcap", "application/vnd.tcpdump.pcap")
	}
	var files []io.Reader
	for _, c := range legs {
		f, err := a.d.Artifacts.OpenCapture(p.Tenant, c.UniqueID)
		if err != nil {
			if len(legs) == 1 {
				return err
			}
			continue // a leg without a capture (retention)
		}
		defer f.Close()
		files = append(files, f)
	}
	if len(files) == 0 {
		return fmt.Errorf("capture: %w", pbx.ErrNotFound)
	}
	name := legs[0].UniqueID + ".pcap"
	var data bytes.Buffer
	if len(files) == 1 && !sipOnly {
		if _, err := io.Copy(&data, files[0]); err != nil {
			return fmt.Errorf("read capture: %w", err)
		}
	} else if err := capture.Merge(&data, files, sipOnly); err != nil { // Merge holds the packets anyway
		return err
	}
	if zipped {
		var z bytes.Buffer
		zw := zip.NewWriter(&z)
		fw, err := zw.Create(name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(data.Bytes()); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		serveBytes(w, z.Bytes(), strings.TrimSuffix(name, ".pcap")+".zip", "application/zip")
		return nil
	}
	serveBytes(w, data.Bytes(), name, "application/vnd.tcpdump.pcap")
	return nil
}

// serveFile streams an opened artifact (Range-capable).
func serveFile(w http.ResponseWriter, r *http.Request, f artifacts.File, name, contentType string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	http.ServeContent(w, r, name, fi.ModTime(), f)
	return nil
}

// serveBytes answers a download.
func serveBytes(w http.ResponseWriter, b []byte, name, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
