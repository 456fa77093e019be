package native

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/devices"
)

type wireCamera struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Driver    string `json:"driver"`
	Extension string `json:"extension,omitempty"` // the door phone it is bound to
}

func toWireCamera(c devices.Camera) wireCamera {
	return wireCamera{ID: c.ID, Name: c.Name, Driver: c.Driver, Extension: c.Extension}
}

func cameraID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 || id > 1<<30 {
		writeError(w, http.StatusBadRequest, "invalid_argument", "camera id must be a positive number")
		return 0, false
	}
	return id, true
}

func (a *API) listCameras(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, err := a.svc.CameraList(p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cameras": each(cs, toWireCamera)})
}

// cameraSnapshot answers one JPEG.
func (a *API) cameraSnapshot(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := cameraID(w, r)
	if !ok {
		return
	}
	b, err := a.svc.CameraSnapshot(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// streamBoundary separates the MJPEG parts we send.
const streamBoundary = "switchboardframe"

// cameraStream is the live picture as MJPEG (multipart/x-mixed-replace),
// which browsers show in an <img>; every viewer shares one connection to
// the camera.
func (a *API) cameraStream(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := cameraID(w, r)
	if !ok {
		return
	}
	started := false
	rc := http.NewResponseController(w)
	err := a.svc.CameraWatch(r.Context(), p, id, func(frame []byte) error {
		if !started {
			w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+streamBoundary)
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			started = true
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
	if err != nil && !started {
		a.fail(w, r, err)
	}
}
