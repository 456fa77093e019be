package voipmonitor

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// getVoiceRecording serves a call's audio as WAV: its recording when one
// was made, else, as VoIPmonitor does from sniffed RTP, the G.711 audio of
// both directions decoded from the call's capture (mixed to mono, or with
// "stereo": true the caller left and the called party right). zip wraps
// the file in a ZIP archive; saveaudio_afterconnect drops what was heard
// before the answer (ringback, early media). ogg is not supported.
func (a *API) getVoiceRecording(w http.ResponseWriter, r *http.Request, p auth.Principal, ps params) error {
	if !p.Can(auth.PlayRecordings) && !p.Can(auth.DownloadRecordings) {
		return dialect.ErrForbidden
	}
	if ogg, err := ps.flag("ogg"); err != nil {
		return err
	} else if ogg {
		return fmt.Errorf("ogg: %w", pbx.ErrNotSupported)
	}
	zipped, err := ps.flag("zip")
	if err != nil {
		return err
	}
	afterConnect, err := ps.flag("saveaudio_afterconnect")
	if err != nil {
		return err
	}
	stereo, err := ps.flag("stereo")
	if err != nil {
		return err
	}
	legs, err := a.cdrByParams(r.Context(), p, ps)
	if err != nil {
		return err
	}
	c := legs[0]
	if a.d.Artifacts == nil {
		return fmt.Errorf("audio: %w", pbx.ErrNotSupported)
	}
	name := c.UniqueID + ".wav"
	if f, ok := a.recordingOf(r, p, c); ok {
		defer f.Close()
		if !zipped { // streamed as it is, with Range
			return serveFile(w, r, f, name, "audio/x-wav")
		}
		var b bytes.Buffer
		if _, err := io.Copy(&b, io.LimitReader(f, maxWAV)); err != nil {
			return fmt.Errorf("read recording: %w", err)
		}
		return sendAudio(w, b.Bytes(), name, zipped)
	}
	f, err := a.d.Artifacts.OpenCapture(p.Tenant, c.UniqueID)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	streams, err := capture.ReadRTP(f)
	if err != nil {
		return err
	}
	wav, err := decodeCall(c, streams, afterConnect, stereo)
	if err != nil {
		return err
	}
	a.log.Debug("audio decoded from capture", "cdr", c.ID, "streams", len(streams), "bytes", len(wav), "took", time.Since(start))
	return sendAudio(w, wav, name, zipped)
}

// maxWAV bounds one audio answer (two hours of 8 kHz stereo).
const maxWAV = 2 * 3600 * 8000 * 4

// recordingOf opens the call's finished recording, if it has one the
// principal may hear.
func (a *API) recordingOf(r *http.Request, p auth.Principal, c pbx.CDR) (artifacts.File, bool) {
	recs, _, err := a.d.Service.Recordings(r.Context(), p, pbx.RecordingFilter{CallID: c.UniqueID, Limit: 10})
	if err != nil {
		return nil, false
	}
	for _, rec := range recs {
		if rec.State != pbx.RecDone || rec.File == "" {
			continue
		}
		if _, err := a.d.Service.RecordingAudio(r.Context(), p, rec.ID); err != nil {
			continue
		}
		f, err := a.d.Artifacts.OpenRecording(p.Tenant, rec.File)
		if err != nil {
			continue
		}
		return f, true
	}
	return nil, false
}

func sendAudio(w http.ResponseWriter, wav []byte, name string, zipped bool) error {
	if !zipped {
		serveBytes(w, wav, name, "audio/x-wav")
		return nil
	}
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	fw, err := zw.Create(name)
	if err != nil {
		return err
	}
	if _, err := fw.Write(wav); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	serveBytes(w, z.Bytes(), name[:len(name)-4]+".zip", "application/zip")
	return nil
}

// decodeCall lays the caller's and the called party's received streams
// on one timeline and renders the WAV. The streams are found by the
// source addresses the CDR recorded; a CDR without them (written before
// the store kept them) gets the first stream only.
func decodeCall(c pbx.CDR, streams []capture.RTPStream, afterConnect, stereo bool) ([]byte, error) {
	find := func(s pbx.RTPStream) *capture.RTPStream {
		ip, err := netip.ParseAddr(s.SrcIP)
		if err != nil {
			return nil
		}
		want := netip.AddrPortFrom(ip, uint16(s.SrcPort))
		for i := range streams {
			if streams[i].Src == want {
				return &streams[i]
			}
		}
		return nil
	}
	sa, sb := find(c.Detail.A), find(c.Detail.B)
	if sa == nil && sb == nil && len(streams) > 0 {
		sa = &streams[0]
	}
	if sa == nil && sb == nil {
		return nil, fmt.Errorf("no G.711 audio in the capture: %w", pbx.ErrNotFound)
	}
	var t0 time.Time
	for _, s := range []*capture.RTPStream{sa, sb} {
		if s != nil && (t0.IsZero() || s.Start.Before(t0)) {
			t0 = s.Start
		}
	}
	// Each stream starts at its first packet's offset on the timeline.
	type lane struct {
		off int
		pcm []int16
	}
	place := func(s *capture.RTPStream) lane {
		if s == nil {
			return lane{}
		}
		return lane{int(s.Start.Sub(t0) * 8000 / time.Second), s.PCM}
	}
	left, right := place(sa), place(sb)
	n := max(left.off+len(left.pcm), right.off+len(right.pcm))
	cut := 0
	if afterConnect {
		if c.AnswerDate.IsZero() {
			return nil, fmt.Errorf("the call was not connected: %w", pbx.ErrNotFound)
		}
		cut = min(n, max(0, int(c.AnswerDate.Sub(t0)*8000/time.Second)))
	}
	at := func(l lane, i int) int32 {
		if i -= l.off; i >= 0 && i < len(l.pcm) {
			return int32(l.pcm[i])
		}
		return 0
	}
	channels := 1
	if stereo {
		channels = 2
	}
	if (n-cut)*2*channels > maxWAV {
		return nil, fmt.Errorf("audio longer than two hours: %w", pbx.ErrInvalidArgument)
	}
	var b bytes.Buffer
	writeWAVHeader(&b, n-cut, channels)
	pcm := make([]byte, 0, (n-cut)*2*channels)
	for i := cut; i < n; i++ {
		l, rr := at(left, i), at(right, i)
		if stereo {
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(l)))
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(rr)))
			continue
		}
		m := max(-32768, min(32767, l+rr))
		pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(m)))
	}
	b.Write(pcm)
	return b.Bytes(), nil
}

// writeWAVHeader writes a canonical 44-byte header for 16-bit 8 kHz PCM.
func writeWAVHeader(b *bytes.Buffer, samples, channels int) {
	data := samples * 2 * channels
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	_ = binary.Write(b, le, uint32(16))
	_ = binary.Write(b, le, uint16(1)) // PCM
	_ = binary.Write(b, le, uint16(channels))
	_ = binary.Write(b, le, uint32(8000))
	_ = binary.Write(b, le, uint32(8000*2*channels))
	_ = binary.Write(b, le, uint16(2*channels))
	_ = binary.Write(b, le, uint16(16))
	b.WriteString("data")
	_ = binary.Write(b, le, uint32(data))
}
