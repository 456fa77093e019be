package webtapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// relayParam is the required relay_id.
func (c *call) relayParam() (int, error) {
	id, ok := positiveInt(c.req.p.get("relay_id"))
	if !ok {
		return 0, fmt.Errorf("relay_id %q: %w", clip(c.req.p.get("relay_id")), errParam)
	}
	c.target = "relay " + strconv.Itoa(id)
	return id, nil
}

// relayList is action=relay_list: "id!name!status" per relay.
func (a *API) relayList(c *call) error {
	rs, err := a.d.Service.RelayList(c.r.Context(), c.p)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range rs {
		relayLine(&b, r)
	}
	c.text(b.String())
	return nil
}

// relayGet is action=relay_status_get: the contact's status, 1 (closed,
// on) or 0 (open, off), read from the device. "0" is also the error
// answer; X-Webtapi-Error tells them apart.
func (a *API) relayGet(c *call) error {
	id, err := c.relayParam()
	if err != nil {
		return err
	}
	r, err := a.d.Service.Relay(c.r.Context(), c.p, id)
	if err != nil {
		return err
	}
	c.text(onOff(r.On))
	return nil
}

// relaySet is action=relay_status_set: status 1 closes the contact (for a
// door relay with a configured pulse, for that pulse), 0 opens it.
func (a *API) relaySet(c *call) error {
	id, err := c.relayParam()
	if err != nil {
		return err
	}
	var on bool
	switch st := c.req.p.get("status"); st {
	case "1":
		on = true
	case "0":
	default:
		return fmt.Errorf("status %q: must be 0 or 1: %w", clip(st), errParam)
	}
	c.target += " " + onOff(on)
	if _, err := a.d.Service.SetRelay(c.r.Context(), c.p, id, on, 0); err != nil {
		return err
	}
	c.text(replyOK)
	return nil
}

// cameraParam is the required CAMID.
func (c *call) cameraParam() (int, error) {
	id, ok := positiveInt(c.req.p.get("CAMID"))
	if !ok {
		return 0, fmt.Errorf("CAMID %q: %w", clip(c.req.p.get("CAMID")), errParam)
	}
	c.target = "camera " + strconv.Itoa(id)
	return id, nil
}

// cameraList is action=vmx_cam_list: "id!name" per camera.
func (a *API) cameraList(c *call) error {
	cs, err := a.d.Service.CameraList(c.p)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, x := range cs {
		cameraLine(&b, x)
	}
	c.text(b.String())
	return nil
}

// cameraPicture is action=vmx_cam_get_pic: one JPEG, raw.
func (a *API) cameraPicture(c *call) error {
	id, err := c.cameraParam()
	if err != nil {
		return err
	}
	b, err := a.d.Service.CameraSnapshot(c.r.Context(), c.p, id)
	if err != nil {
		return err
	}
	c.wrote = true
	c.w.Header().Set("Content-Type", "image/jpeg")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
	return nil
}

// streamBoundary separates the MJPEG parts.
const streamBoundary = "webtapiframe"

// cameraStream is action=vmx_cam_get_stream: the live picture as MJPEG
// (multipart/x-mixed-replace, one image/jpeg part per frame) until the
// client leaves or the node stops; every viewer shares one connection to
// the camera.
func (a *API) cameraStream(c *call) error {
	id, err := c.cameraParam()
	if err != nil {
		return err
	}
	a.streams.Add(1)
	defer a.streams.Done()
	ctx, cancel := mergeDone(c.r.Context(), a.ctx)
	defer cancel()
	rc := http.NewResponseController(c.w)
	w := c.w
	err = a.d.Service.CameraWatch(ctx, c.p, id, func(frame []byte) error {
		if !c.wrote {
			w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+streamBoundary)
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			c.wrote = true
		}
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", streamBoundary, len(frame)); err != nil {
			return err
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
		if _, err := w.Write([]byte("\r\n")); err != nil {
			return err
		}
		return rc.Flush()
	})
	if c.wrote {
		return nil // the stream ended: the client left, the camera or the node stopped
	}
	return err
}

// Camera recordings started by vmx_cam_s_record run this long unless the
// client gives duration (seconds, 1 to 3600) or stops them.
const (
	defaultCameraRecording = time.Minute
	maxCameraRecording     = time.Hour
)

// cameraRecord is action=vmx_cam_s_record: record CAMID's stream into a
// file for duration seconds (default 60, at most 3600); the reply is the
// file's name once its first frame is written. stop=1 (or true) ends the
// camera's running recording instead and answers the completed file's
// name. One recording per camera at a time.
func (a *API) cameraRecord(c *call) error {
	id, err := c.cameraParam()
	if err != nil {
		return err
	}
	stop, err := boolParamNamed("stop", c.req.p.get("stop"))
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	if stop {
		if _, has := c.req.p["duration"]; has {
			return fmt.Errorf("duration with stop: %w", errParam)
		}
		name, err := a.d.Service.CameraRecordStop(ctx, c.p, id)
		if err != nil {
			return err
		}
		c.target += " stop " + name
		c.text(name)
		return nil
	}
	d := defaultCameraRecording
	if s, has := c.req.p["duration"]; has {
		n, ok := positiveInt(s)
		if !ok || time.Duration(n)*time.Second > maxCameraRecording {
			return fmt.Errorf("duration %q: 1 to %d seconds: %w", clip(s), int(maxCameraRecording/time.Second), errParam)
		}
		d = time.Duration(n) * time.Second
	}
	name, err := a.d.Service.CameraRecordStart(ctx, c.p, id, d)
	if err != nil {
		return err
	}
	c.target += " " + name
	c.text(name)
	return nil
}

// cameraSave is action=vmx_cam_p_save: save one JPEG of CAMID into a file;
// the reply is its name.
func (a *API) cameraSave(c *call) error {
	id, err := c.cameraParam()
	if err != nil {
		return err
	}
	name, err := a.d.Service.CameraSavePicture(c.r.Context(), c.p, id)
	if err != nil {
		return err
	}
	c.target += " " + name
	c.text(name)
	return nil
}
