package cloudpbx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// maxBody bounds a /sendSMS body: 1,024 characters of UTF-8 form-encoded
// are at most ~12 KB; anything far larger is not an SMS.
const maxBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, msgInternal)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// listCDRs is GET /cdr: the tenant's CDRs of datestart..datestop (default
// today), oldest first, at most maxCDRs; X-Total-Count tells a client how
// many the range held when it was cut.
func (a *API) listCDRs(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	loc := a.d.Service.Location(p)
	dr, err := parseDateRange(r.URL.Query(), a.now(), loc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rows, total, err := a.d.CDRs.QueryCDRs(r.Context(), pbx.CDRFilter{Tenant: p.Tenant, From: dr.from, To: dr.to, Limit: maxCDRs})
	if err != nil {
		a.fail(w, r, fmt.Errorf("cdr query: %w", err))
		return
	}
	out := make([]cdrRecord, 0, len(rows))
	for _, c := range rows {
		out = append(out, toCDR(c, loc))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
}

// listRecordings is GET /record: the recordings started in the range, at
// most maxRecordings.
func (a *API) listRecordings(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	loc := a.d.Service.Location(p)
	dr, err := parseDateRange(r.URL.Query(), a.now(), loc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The range is [from, to); the index's To is inclusive, so stop a
	// nanosecond before the next day.
	rows, total, err := a.d.Service.Recordings(r.Context(), p, pbx.RecordingFilter{From: dr.from, To: dr.to.Add(-time.Nanosecond), Limit: maxRecordings})
	if err != nil {
		a.fail(w, r, fmt.Errorf("recordings: %w", err))
		return
	}
	out := make([]recordEntry, 0, len(rows))
	for _, rec := range rows {
		if downloadable(rec) {
			out = append(out, toRecord(rec, loc))
		}
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
}

// download is GET /record/{uniqueid}: the call's recording, found in the
// index by the call's unique id; the file opened is the index's, never a
// path from the request. Range requests are served.
func (a *API) download(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id := r.PathValue("uniqueid")
	if !uniqueIDOK(id) {
		a.fail(w, r, fmt.Errorf("recording %q: %w", clip(id), pbx.ErrNotFound))
		return
	}
	if !p.Can(auth.DownloadRecordings) && !p.Can(auth.PlayRecordings) {
		a.fail(w, r, fmt.Errorf("download: %w", errForbiddenDownload))
		return
	}
	rows, _, err := a.d.Service.Recordings(r.Context(), p, pbx.RecordingFilter{CallID: id, Limit: 10})
	if err != nil {
		a.fail(w, r, fmt.Errorf("recording %q: %w", id, err))
		return
	}
	var rec pbx.Recording
	for _, x := range rows {
		if downloadable(x) {
			rec = x
			break
		}
	}
	if rec.File == "" {
		a.fail(w, r, fmt.Errorf("recording of %q: %w", id, pbx.ErrNotFound))
		return
	}
	// The service decides play/download rights and ownership once more.
	if rec, err = a.d.Service.RecordingAudio(r.Context(), p, rec.ID); err != nil {
		a.fail(w, r, fmt.Errorf("recording %q: %w", id, err))
		return
	}
	if a.d.Artifacts == nil {
		a.fail(w, r, fmt.Errorf("recordings: %w", pbx.ErrNotSupported))
		return
	}
	f, err := a.d.Artifacts.OpenRecording(rec.Tenant, rec.File)
	if err != nil {
		a.fail(w, r, fmt.Errorf("recording %q: %w", id, err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		a.fail(w, r, fmt.Errorf("recording %q: %w", id, err))
		return
	}
	format := recordingFormat(rec.File)
	name := id + "." + format
	w.Header().Set("Content-Type", contentType(format))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	a.log.Info("recording downloaded", "principal", p.Name, "tenant", p.Tenant, "recording", rec.ID, "remote", dialectRemote(r))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// downloadable: a finished recording with a file (stopped, or cut short
// by a crash, which keeps the audio up to then). Running and failed ones
// are neither listed nor served, so a list entry can always be fetched.
func downloadable(r pbx.Recording) bool {
	return r.File != "" && (r.State == pbx.RecDone || r.State == pbx.RecInterrupted)
}

// dial is GET /dial?cpa=&cpb=: ring cpa, a number of the PBX, then dial
// cpb. "OK" 200, or "Action Error" 500 for a missing or bad parameter and
// every failed invocation, as the spec says.
func (a *API) dial(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	cpa, err1 := oneValue(q, "cpa")
	cpb, err2 := oneValue(q, "cpb")
	if err := errors.Join(err1, err2); err != nil || !validNumber(cpa) || !validNumber(cpb) {
		writeText(w, http.StatusInternalServerError, msgActionError)
		return
	}
	if _, err := a.d.Service.Originate(r.Context(), p, pbx.OriginateRequest{From: cpa, To: cpb}, false); err != nil {
		status, msg := dialStatus(err)
		a.log.Info("dial refused", "principal", p.Name, "tenant", p.Tenant, "err", err)
		writeText(w, status, msg)
		return
	}
	writeText(w, http.StatusOK, msgOK)
}

// sendSMS is POST /sendSMS: the message goes to the core's outbox and
// the answer is the spec's RESPONSE object, 200 with responseStatus
// QUEUE and the message id (also the uniqueid of its CDR); its later
// states come as smsSendResponse on the WebSocket. to is the spec's
// nine-digit Polish number, sent as 48 and the nine digits (the
// international form the spec's smsSendResponse shows). test=true
// validates and answers with an id but sends, stores and charges
// nothing. A failure of the call itself (no gateway on this PBX, the
// store) is RESPONSE FAILED with 500, as the spec says.
func (a *API) sendSMS(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	req, err := readSMS(w, r)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			writeText(w, http.StatusRequestEntityTooLarge, msgTooLarge)
			return
		}
		a.fail(w, r, err)
		return
	}
	m, err := a.d.Service.SendSMS(r.Context(), p, countryCode+req.To, req.Body, req.Test)
	if err != nil {
		status, msg, response := smsStatus(err)
		if !response {
			a.fail(w, r, err)
			return
		}
		a.log.Warn("sendSMS failed", "principal", p.Name, "tenant", p.Tenant, "err", err)
		writeJSON(w, status, smsResponse{ResponseStatus: "FAILED", ResponseErrorMessage: &msg})
		return
	}
	id := m.ID
	writeJSON(w, http.StatusOK, smsResponse{ResponseID: &id, ResponseStatus: string(m.State)})
}

// countryCode makes the spec's nine-digit numbers international.
const countryCode = "48"

var (
	errTooLarge          = errors.New("request body too large")
	errForbiddenDownload = fmt.Errorf("your role may not play or download recordings: %w", dialect.ErrForbidden)
)

// readSMS reads to, body and test from a JSON object or a form (url-encoded
// or multipart; the query counts too, as PHP clients mix them).
func readSMS(w http.ResponseWriter, r *http.Request) (smsRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var to, body, test string
	if ct == "application/json" {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return smsRequest{}, tooLarge(err)
		}
		to, body, test, err = smsJSON(raw)
		if err != nil {
			return smsRequest{}, err
		}
	} else {
		var err error
		if ct == "multipart/form-data" {
			err = r.ParseMultipartForm(maxBody)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			if e := tooLarge(err); errors.Is(e, errTooLarge) {
				return smsRequest{}, e
			}
			return smsRequest{}, fmt.Errorf("form: %v: %w", err, errParameter)
		}
		to, body, test = r.Form.Get("to"), r.Form.Get("body"), r.Form.Get("test")
	}
	return checkSMS(to, body, test)
}

// smsJSON reads {"to":..., "body":..., "test":...}; to and test may be
// numbers or booleans (clients differ), body must be a string.
func smsJSON(raw []byte) (to, body, test string, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", "", "", fmt.Errorf("json body: %w", errParameter)
	}
	str := func(k string) (string, error) {
		v, ok := m[k]
		if !ok {
			return "", nil
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s, nil
		}
		var n json.Number
		if k != "body" && json.Unmarshal(v, &n) == nil {
			return n.String(), nil
		}
		var b bool
		if k == "test" && json.Unmarshal(v, &b) == nil {
			return strconv.FormatBool(b), nil
		}
		return "", fmt.Errorf("%s: %w", k, errParameter)
	}
	if to, err = str("to"); err != nil {
		return
	}
	if body, err = str("body"); err != nil {
		return
	}
	test, err = str("test")
	return
}

func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%d bytes: %w", mbe.Limit, errTooLarge)
	}
	return fmt.Errorf("body: %v: %w", err, errParameter)
}

// dialectRemote is the client's address for a log line.
func dialectRemote(r *http.Request) string { return r.RemoteAddr }
