package native

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// decode reads a JSON body strictly (unknown fields are an error) and
// answers 400 itself when it cannot. An empty body decodes to the zero
// value, so optional-only bodies may be left out.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "invalid_argument", "body: "+err.Error())
		return false
	}
	return true
}

func (a *API) startRecording(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Call   string `json:"call"` // call id, channel unique id or channel name
		Name   string `json:"name"`
		Stereo bool   `json:"stereo"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Call == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "call is required")
		return
	}
	rec, err := a.svc.StartRecording(r.Context(), p, body.Call, pbx.RecordOptions{Name: body.Name, Stereo: body.Stereo})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toWireRecording(rec))
}

// recordingAction serves stop, pause and resume.
func (a *API) recordingAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) { a.recordingDo(w, r, p, action) }
}

func (a *API) recordingDo(w http.ResponseWriter, r *http.Request, p auth.Principal, action string) {
	rec, err := a.svc.RecordingAction(r.Context(), p, r.PathValue("id"), action)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireRecording(rec))
}

func (a *API) listRecordings(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	f := pbx.RecordingFilter{Tenant: p.Tenant, CallID: q.Get("call"), Number: q.Get("number")}
	if err := parseRange(q, &f.From, &f.To, &f.Limit, &f.Offset); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	if len(f.CallID) > 64 || len(f.Number) > 64 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "filter value longer than 64 characters")
		return
	}
	rows, total, err := a.svc.Recordings(r.Context(), p, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "recordings": each(rows, toWireRecording)})
}

func (a *API) getRecording(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rec, err := a.svc.Recording(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWireRecording(rec))
}

// recordingAudio streams the WAV file (with Range support). The path comes
// from the index entry, never from the request.
func (a *API) recordingAudio(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rec, err := a.svc.RecordingAudio(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.arts == nil {
		a.fail(w, r, fmt.Errorf("recordings: %w", pbx.ErrNotSupported))
		return
	}
	f, err := a.arts.OpenRecording(rec.Tenant, rec.File)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer f.Close()
	a.log.Info("recording downloaded", "user", p.Name, "tenant", p.Tenant, "recording", rec.ID, "remote", r.RemoteAddr)
	a.serveFile(w, r, f, rec.File, "audio/wav")
}

// parseRange reads the from, to, limit and offset query parameters every
// listing shares.
func parseRange(q url.Values, from, to *time.Time, limit, offset *int) error {
	var err error
	if *from, err = parseTime(q.Get("from")); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if *to, err = parseTime(q.Get("to")); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	for _, k := range []struct {
		name string
		dst  *int
	}{{"limit", limit}, {"offset", offset}} {
		if v := q.Get(k.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("%s %q is not a non-negative integer", k.name, v)
			}
			*k.dst = n
		}
	}
	return nil
}

// serveFile sends a file the index pointed at (never a path from the
// request), with Range support, as an attachment called name.
func (a *API) serveFile(w http.ResponseWriter, r *http.Request, f artifacts.File, name, contentType string) {
	fi, err := f.Stat()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}
