package webtapi

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// table is every action this server answers.
func (a *API) table() map[string]action {
	return map[string]action{
		"call":               {run: a.callCreate, audit: true},
		"call_pick":          {run: a.callPick, audit: true},
		"call_hangup":        {run: a.callHangup, audit: true},
		"call_prio":          {run: a.callPrio, audit: true},
		"call_list":          {run: a.callList},
		"call_list_all":      {run: a.callListAll},
		"call_record_start":  {run: a.recordStart, audit: true},
		"call_record_stop":   {run: a.recordStop, audit: true},
		"call_record_list":   {run: a.recordList, audit: true},
		"call_record_get":    {run: a.recordGet, audit: true},
		"call_status_get":    {run: a.statusGet},
		"call_create_conf":   {run: a.createConf, audit: true},
		"chan_play_dtmf":     {run: a.playDTMF, audit: true},
		"chan_monitor":       {run: a.monitor, audit: true},
		"q_list":             {run: a.queueList},
		"agent_list":         {run: a.agentList},
		"agent_login":        {run: a.agentLogin, audit: true},
		"agent_logout":       {run: a.agentLogout, audit: true},
		"q_call_list":        {run: a.queueCallList},
		"q_waiting_list":     {run: a.queueWaitingList},
		"q_shift_caller":     {run: a.queueShift, audit: true},
		"q_caller_del":       {run: a.queueCallerDel, audit: true},
		"relay_list":         {run: a.relayList},
		"relay_status_get":   {run: a.relayGet},
		"relay_status_set":   {run: a.relaySet, audit: true},
		"vmx_cam_list":       {run: a.cameraList},
		"vmx_cam_get_pic":    {run: a.cameraPicture, audit: true},
		"vmx_cam_get_stream": {run: a.cameraStream, audit: true},
		"vmx_cam_s_record":   {run: a.cameraRecord, audit: true},
		"vmx_cam_p_save":     {run: a.cameraSave, audit: true},
	}
}

// src is the calling party: the src parameter, or the session user's own
// extension. Restricted roles may name only their own.
func (c *call) src() (string, error) {
	s := c.req.p.get("src")
	if s == "" {
		s = c.p.Extension
	}
	if s == "" {
		return "", fmt.Errorf("src: none given and the account has no extension: %w", errParam)
	}
	if !number(s) {
		return "", fmt.Errorf("src %q: %w", clip(s), errParam)
	}
	if c.p.Restricted() && !dialect.Owns(c.p, s) {
		return "", fmt.Errorf("src %s is not your extension: %w", s, dialect.ErrForbidden)
	}
	return s, nil
}

// dst is a required dialable number parameter (dst by default).
func (c *call) numberParam(name string) (string, error) {
	s := c.req.p.get(name)
	if !number(s) {
		return "", fmt.Errorf("%s %q: %w", name, clip(s), errParam)
	}
	return s, nil
}

// channel is the required chan parameter.
func (c *call) channel() (string, error) {
	s := c.req.p.get("chan")
	if !channelName(s) {
		return "", fmt.Errorf("chan %q: %w", clip(s), errParam)
	}
	c.target = s
	return s, nil
}

// callCreate is action=call: ring src, when it answers dial dst.
func (a *API) callCreate(c *call) error {
	src, err := c.src()
	if err != nil {
		return err
	}
	dst, err := c.numberParam("dst")
	if err != nil {
		return err
	}
	c.target = src + ">" + dst
	if _, err := a.d.Service.Originate(c.r.Context(), c.p, pbx.OriginateRequest{From: src, To: dst}, false); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// callPrio is action=call_prio: clear dst's calls, then ring src and dial
// dst (src: the session user's extension unless given).
func (a *API) callPrio(c *call) error {
	dst, err := c.numberParam("dst")
	if err != nil {
		return err
	}
	src, err := c.src()
	if err != nil {
		return err
	}
	c.target = src + ">" + dst
	if _, err := a.d.Service.Originate(c.r.Context(), c.p, pbx.OriginateRequest{From: src, To: dst}, true); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// callPick is action=call_pick: the call of chan goes to dst. A principal
// who may redirect the call does so (a ringing caller stops ringing its
// old target and rings dst, an answered one is transferred); a restricted
// user naming their own extension as dst picks up a call ringing
// elsewhere.
func (a *API) callPick(c *call) error {
	ch, err := c.channel()
	if err != nil {
		return err
	}
	dst, err := c.numberParam("dst")
	if err != nil {
		return err
	}
	c.target = ch + ">" + dst
	ctx := c.r.Context()
	if c.p.Restricted() && dialect.Owns(c.p, dst) {
		if _, ferr := a.d.Service.FindCall(c.p, ch); ferr != nil {
			// Not their call: a pickup to their own phone.
			if err := a.d.Service.Pickup(ctx, c.p, ch, dst); err != nil {
				return err
			}
			c.text(replyOK)
			return nil
		}
	}
	if err := a.d.Service.Redirect(ctx, c.p, ch, dst); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// callHangup is action=call_hangup: the channel is closed at once.
func (a *API) callHangup(c *call) error {
	ch, err := c.channel()
	if err != nil {
		return err
	}
	if err := a.d.Service.Hangup(c.r.Context(), c.p, ch); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// callList is action=call_list: the channels of the calls src (default:
// the session user's extension) takes part in. An account without an
// extension that names none owns no call: the list is empty.
func (a *API) callList(c *call) error {
	src := c.req.p.get("src")
	if src == "" {
		src = c.p.Extension
	}
	if src != "" {
		var err error
		if src, err = c.src(); err != nil {
			return err
		}
	}
	calls, err := a.d.Service.Calls(c.p)
	if err != nil {
		return err
	}
	mine := calls[:0]
	for _, x := range calls {
		if x.Involves(src) {
			mine = append(mine, x)
		}
	}
	c.text(conciseCalls(mine, a.now()))
	return nil
}

// callListAll is action=call_list_all: every live channel the principal
// may see (restricted roles: their own calls').
func (a *API) callListAll(c *call) error {
	calls, err := a.d.Service.Calls(c.p)
	if err != nil {
		return err
	}
	c.text(conciseCalls(calls, a.now()))
	return nil
}

// recordStart is action=call_record_start: record the call of chan into
// monitor_file (validated, refused rather than rewritten; ".wav" appended
// when missing) or a generated name; the reply is the file name, which
// call_record_get takes.
func (a *API) recordStart(c *call) error {
	ch, err := c.channel()
	if err != nil {
		return err
	}
	name := c.req.p.get("monitor_file")
	if _, has := c.req.p["monitor_file"]; has {
		if name, err = pbx.ValidRecordingName(name); err != nil {
			return err
		}
	}
	rec, err := a.d.Service.StartRecording(c.r.Context(), c.p, ch, pbx.RecordOptions{Name: name})
	if err != nil {
		return err
	}
	c.target = ch + ">" + rec.File
	c.text(rec.File)
	return nil
}

// recordStop is action=call_record_stop: stop the recording running on
// the call of chan.
func (a *API) recordStop(c *call) error {
	ch, err := c.channel()
	if err != nil {
		return err
	}
	if _, err := a.d.Service.StopCallRecording(c.r.Context(), c.p, ch); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// maxRecordList bounds call_record_list: the newest this many.
const maxRecordList = 5000

// recordList is action=call_record_list: the stored files, newest first,
// one per line. Only finished recordings are listed, so every name can be
// downloaded.
func (a *API) recordList(c *call) error {
	rows, _, err := a.d.Service.Recordings(c.r.Context(), c.p, pbx.RecordingFilter{Limit: maxRecordList})
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range rows {
		if downloadable(r) {
			b.WriteString(r.File)
			b.WriteByte('\n')
		}
	}
	c.text(b.String())
	return nil
}

// downloadable: a finished recording with a file (stopped, or cut short
// by a crash, which keeps the audio up to then).
func downloadable(r pbx.Recording) bool {
	return r.File != "" && (r.State == pbx.RecDone || r.State == pbx.RecInterrupted)
}

// recordGet is action=call_record_get: the WAV named monitor_file, raw.
// The name is validated, then looked up in the recordings index of the
// principal's tenant; the file opened is the index's, so nothing outside
// the tenant's recordings can be served. A name without ".wav" is looked
// up with it (call_record_start appends it).
func (a *API) recordGet(c *call) error {
	name, err := pbx.ValidRecordingName(c.req.p.get("monitor_file"))
	if err != nil {
		return err
	}
	c.target = name
	if !c.p.Can(auth.DownloadRecordings) && !c.p.Can(auth.PlayRecordings) {
		return fmt.Errorf("your role may not download recordings: %w", dialect.ErrForbidden)
	}
	ctx := c.r.Context()
	rows, _, err := a.d.Service.Recordings(ctx, c.p, pbx.RecordingFilter{File: name, Limit: 1})
	if err != nil {
		return err
	}
	if len(rows) == 0 || !downloadable(rows[0]) {
		return fmt.Errorf("recording %q: %w", name, pbx.ErrNotFound)
	}
	rec, err := a.d.Service.RecordingAudio(ctx, c.p, rows[0].ID)
	if err != nil {
		return err
	}
	if a.d.Artifacts == nil {
		return fmt.Errorf("recordings: %w", pbx.ErrNotSupported)
	}
	f, err := a.d.Artifacts.OpenRecording(rec.Tenant, rec.File)
	if err != nil {
		return fmt.Errorf("recording %q: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("recording %q: %w", name, err)
	}
	c.wrote = true
	c.w.Header().Set("Content-Type", "audio/wav")
	c.w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": rec.File}))
	c.w.Header().Set("X-Content-Type-Options", "nosniff")
	a.log.Info("recording downloaded", "principal", c.p.Name, "tenant", c.p.Tenant, "recording", rec.ID)
	http.ServeContent(c.w, c.r, rec.File, fi.ModTime(), io.ReadSeeker(f))
	return nil
}

// maxFilter bounds the numbers of one call_status_get filter and one
// conference's stations.
const (
	maxFilter   = 1000
	maxStations = 32
)

// statusGet is action=call_status_get: "extension:status" per line, for
// the filter's numbers (-1 for one that does not exist) or every
// extension.
func (a *API) statusGet(c *call) error {
	var b strings.Builder
	if f, has := c.req.p["filter"]; has {
		nums, ok := numberList(f, maxFilter)
		if !ok {
			return fmt.Errorf("filter %q: %w", clip(f), errParam)
		}
		for _, n := range nums {
			x, err := a.d.Service.Extension(c.p, n)
			switch {
			case err == nil:
				statusLine(&b, n, webtapiState(x.State))
			case isNotFound(err):
				statusLine(&b, n, int(pbx.StateNotFound))
			default:
				return err
			}
		}
		c.text(b.String())
		return nil
	}
	exts, err := a.d.Service.Extensions(c.p)
	if err != nil {
		return err
	}
	for _, x := range exts {
		statusLine(&b, x.Number, webtapiState(x.State))
	}
	c.text(b.String())
	return nil
}

// createConf is action=call_create_conf: stations (comma-separated) are
// called into a new room; break=true clears their calls first.
func (a *API) createConf(c *call) error {
	nums, ok := numberList(c.req.p.get("stations"), maxStations)
	if !ok || len(nums) < 2 {
		return fmt.Errorf("stations: two to %d numbers: %w", maxStations, errParam)
	}
	brk, err := boolParam(c.req.p.get("break"))
	if err != nil {
		return err
	}
	c.target = strings.Join(nums, ",")
	conf, _, err := a.d.Service.CreateConference(c.r.Context(), c.p, nums, brk)
	if err != nil {
		return err
	}
	c.target = conf.Name + ":" + c.target
	c.text(replyOK)
	return nil
}

// boolParam reads break: absent, false, 0 or no are false; true, 1 or yes
// true; anything else a bad parameter.
func boolParam(s string) (bool, error) { return boolParamNamed("break", s) }

func boolParamNamed(name, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, fmt.Errorf("%s %q: %w", name, clip(s), errParam)
}

// playDTMF is action=chan_play_dtmf: tone (0-9 * # A-D) played as RFC 4733
// to chan's device. Without chan (the spec's example has none) the tones
// go into the session user's one live call: to the channel its extension
// talks to, so the far end (an IVR) hears them.
func (a *API) playDTMF(c *call) error {
	tone := c.req.p.get("tone")
	if tone == "" || len(tone) > pbx.MaxDTMFDigits || strings.Trim(tone, "0123456789*#ABCD") != "" {
		return fmt.Errorf("tone %q: %w", clip(tone), errParam)
	}
	var ch string
	if _, has := c.req.p["chan"]; has {
		var err error
		if ch, err = c.channel(); err != nil {
			return err
		}
	} else {
		var err error
		if ch, err = a.farEnd(c); err != nil {
			return err
		}
		c.target = ch
	}
	if err := a.d.Service.PlayDTMF(c.r.Context(), c.p, ch, tone); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// farEnd is the channel the session user's extension talks to in its one
// live answered call.
func (a *API) farEnd(c *call) (string, error) {
	if c.p.Extension == "" {
		return "", fmt.Errorf("chan: none given and the account has no extension: %w", errParam)
	}
	calls, err := a.d.Service.Calls(c.p)
	if err != nil {
		return "", err
	}
	found := ""
	for _, x := range calls {
		if !x.Involves(c.p.Extension) {
			continue
		}
		for _, ch := range x.Channels {
			if ch.Exten != c.p.Extension || ch.State != pbx.ChanUp {
				continue
			}
			if b := bridgedTo(x, ch, ""); b != noneField {
				if found != "" {
					return "", fmt.Errorf("chan: %s is in more than one call; name the channel: %w", c.p.Extension, errParam)
				}
				found = b
			}
		}
	}
	if found == "" {
		return "", fmt.Errorf("chan: %s is in no answered call: %w", c.p.Extension, pbx.ErrNotFound)
	}
	return found, nil
}

// monitor is action=chan_monitor: dst (default the session user's
// extension) is called and hears chan's call without being heard.
func (a *API) monitor(c *call) error {
	ch, err := c.channel()
	if err != nil {
		return err
	}
	dst := c.req.p.get("dst")
	if dst != "" && !number(dst) {
		return fmt.Errorf("dst %q: %w", clip(dst), errParam)
	}
	c.target = ch + ">" + dst
	if _, err := a.d.Service.Monitor(c.r.Context(), c.p, ch, dst); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}
