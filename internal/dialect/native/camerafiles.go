package native

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/devices"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// wireCameraFile is a camera recording or picture on the native wire.
type wireCameraFile struct {
	Name      string    `json:"name"`
	Camera    int       `json:"camera"`
	Kind      string    `json:"kind"` // recording (.mjpeg) or picture (.jpg)
	Size      int64     `json:"size"`
	Created   time.Time `json:"created"`
	Modified  time.Time `json:"modified"`
	Recording bool      `json:"recording"` // still being written
}

func toWireCameraFile(f dialect.CameraFile) wireCameraFile {
	return wireCameraFile{Name: f.Name, Camera: f.Camera, Kind: f.Kind, Size: f.Size, Created: f.Created.UTC(),
		Modified: f.Modified.UTC(), Recording: f.Recording}
}

// startCameraRecording: POST /api/v1/cameras/{id}/recording with
// optional {"max_seconds": N} (0 or absent: until stopped, at most an
// hour). It answers once the first frame is on disk.
func (a *API) startCameraRecording(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := cameraID(w, r)
	if !ok {
		return
	}
	var body struct {
		MaxSeconds int `json:"max_seconds"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.MaxSeconds < 0 || body.MaxSeconds > int(devices.MaxRecording/time.Second) {
		writeError(w, http.StatusBadRequest, "invalid_argument", "max_seconds must be 0 (until stopped) up to 3600")
		return
	}
	name, err := a.svc.CameraRecordStart(r.Context(), p, id, time.Duration(body.MaxSeconds)*time.Second)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": name, "camera": id})
}

// stopCameraRecording: DELETE /api/v1/cameras/{id}/recording; it answers
// once the file is complete.
func (a *API) stopCameraRecording(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := cameraID(w, r)
	if !ok {
		return
	}
	name, err := a.svc.CameraRecordStop(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "camera": id})
}

// saveCameraPicture: POST /api/v1/cameras/{id}/pictures.
func (a *API) saveCameraPicture(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := cameraID(w, r)
	if !ok {
		return
	}
	name, err := a.svc.CameraSavePicture(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": name, "camera": id})
}

// listCameraFiles: GET /api/v1/camera-files[?camera=N].
func (a *API) listCameraFiles(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	camera := 0
	if v := r.URL.Query().Get("camera"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1<<30 {
			writeError(w, http.StatusBadRequest, "invalid_argument", "camera must be a positive number")
			return
		}
		camera = n
	}
	fs, err := a.svc.CameraFileList(r.Context(), p, camera)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": each(fs, toWireCameraFile)})
}

// cameraFile: GET /api/v1/camera-files/{name}, the file itself with Range
// support: a picture as image/jpeg, a recording as the multipart stream
// it is written as (a browser plays it in an <img>).
func (a *API) cameraFile(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	f, cf, err := a.svc.CameraFileOpen(r.Context(), p, r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer f.Close()
	ct := "image/jpeg"
	if cf.Kind == artifacts.CameraRecording {
		ct = "multipart/x-mixed-replace; boundary=" + devices.RecordingBoundary
	}
	a.log.Info("camera file downloaded", "user", p.Name, "tenant", p.Tenant, "file", cf.Name, "remote", r.RemoteAddr)
	a.serveFile(w, r, f, cf.Name, ct)
}
