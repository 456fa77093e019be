package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/config"
)

// TestDemoCameraRecording: through the native API with a real HTTP
// client, the demo's camera 44 is recorded until stopped and a picture
// is saved; both are listed and downloaded, the recording is a multipart
// stream of complete JPEG frames and the picture decodes as a JPEG. A
// readonly account may do none of it, a user who may view cameras but
// not record may list but not record, and bad input is refused.
func TestDemoCameraRecording(t *testing.T) {
	n := startDemoWith(t, Options{}, func(c *config.Config) {
		t := c.Tenant("MojaCentrala")
		t.Users = append(t.Users, config.User{Name: "watch", Password: "watch-pass-123", Role: "readonly"},
			config.User{Name: "viewer", Password: "viewer-pass-123", Role: "user", Deny: []string{auth.Record}})
	})
	base := "http://" + n.HTTPAddr().String()
	do := func(method, path, user, pass, body string) *http.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.SetBasicAuth(user, pass)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	jsonOf := func(res *http.Response, want int) map[string]any {
		t.Helper()
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", res.Request.Method, res.Request.URL.Path, res.StatusCode, b, want)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return m
	}

	next := wsEvents(t, n)
	rec := jsonOf(do("POST", "/api/v1/cameras/44/recording", "admin", "admin", `{"max_seconds":30}`), 201)
	name, _ := rec["name"].(string)
	if !strings.HasPrefix(name, "cam44-") || !strings.HasSuffix(name, ".mjpeg") {
		t.Fatalf("recording name %q", name)
	}
	jsonOf(do("POST", "/api/v1/cameras/44/recording", "2001", "demo", ``), 409)
	list := jsonOf(do("GET", "/api/v1/camera-files?camera=44", "2001", "demo", ""), 200)
	if files, _ := list["files"].([]any); len(files) != 1 || files[0].(map[string]any)["recording"] != true {
		t.Fatalf("listing while recording: %v", list)
	}
	time.Sleep(time.Second) // the demo camera sends 5 frames a second
	if stop := jsonOf(do("DELETE", "/api/v1/cameras/44/recording", "2001", "demo", ""), 200); stop["name"] != name {
		t.Fatalf("stop: %v", stop)
	}
	jsonOf(do("DELETE", "/api/v1/cameras/44/recording", "admin", "admin", ""), 404)
	var seen []string
	for len(seen) < 2 {
		ev, _ := next(context.Background())
		if ev["type"] == "camera.recording" {
			data, _ := ev["data"].(map[string]any)
			if data["name"] != name || data["camera"] != "44" {
				t.Fatalf("camera.recording event %v", ev)
			}
			seen = append(seen, fmt.Sprint(data["state"], "/", data["reason"]))
		}
	}
	if seen[0] != "started/<nil>" || seen[1] != "stopped/stop" {
		t.Fatalf("camera.recording events %v", seen)
	}

	res := do("GET", "/api/v1/camera-files/"+name, "2001", "demo", "")
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode != 200 || err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("recording download: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(res.Body, params["boundary"])
	frames := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		if _, err := jpeg.Decode(p); err != nil {
			t.Fatalf("frame %d is not a complete JPEG: %v", frames, err)
		}
		frames++
	}
	res.Body.Close()
	if frames < 3 {
		t.Fatalf("%d frames in a second at 5 fps", frames)
	}

	pic := jsonOf(do("POST", "/api/v1/cameras/44/pictures", "2001", "demo", ""), 201)
	picName, _ := pic["name"].(string)
	res = do("GET", "/api/v1/camera-files/"+picName, "watch", "watch-pass-123", "")
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("readonly download: %d", res.StatusCode)
	}
	res = do("GET", "/api/v1/camera-files/"+picName, "viewer", "viewer-pass-123", "")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("picture download: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("the picture is not a JPEG: %v", err)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/camera-files/"+picName, nil)
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("Range", "bytes=0-1")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 206 {
		t.Fatalf("range: %v %v", res, err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Equal(b, []byte{0xff, 0xd8}) {
			t.Fatalf("range bytes %x", b)
		}
	}
	all := jsonOf(do("GET", "/api/v1/camera-files", "viewer", "viewer-pass-123", ""), 200)
	if files, _ := all["files"].([]any); len(files) != 2 || files[0].(map[string]any)["name"] != picName ||
		files[1].(map[string]any)["kind"] != "recording" || files[1].(map[string]any)["recording"] != false {
		t.Fatalf("listing: %v", all)
	}

	for _, tc := range []struct {
		method, path, user, pass, body string
		want                           int
	}{
		{"POST", "/api/v1/cameras/44/recording", "watch", "watch-pass-123", "", 403},
		{"POST", "/api/v1/cameras/44/recording", "viewer", "viewer-pass-123", "", 403},
		{"POST", "/api/v1/cameras/44/pictures", "viewer", "viewer-pass-123", "", 403},
		{"GET", "/api/v1/camera-files", "watch", "watch-pass-123", "", 403},
		{"POST", "/api/v1/cameras/45/recording", "admin", "admin", "", 404},
		{"POST", "/api/v1/cameras/45/pictures", "admin", "admin", "", 404},
		{"DELETE", "/api/v1/cameras/45/recording", "admin", "admin", "", 404},
		{"POST", "/api/v1/cameras/44/recording", "admin", "admin", `{"max_seconds":-1}`, 400},
		{"POST", "/api/v1/cameras/44/recording", "admin", "admin", `{"max_seconds":99999}`, 400},
		{"POST", "/api/v1/cameras/44/recording", "admin", "admin", `{"seconds":5}`, 400},
		{"POST", "/api/v1/cameras/x/recording", "admin", "admin", "", 400},
		{"GET", "/api/v1/camera-files?camera=x", "admin", "admin", "", 400},
		{"GET", "/api/v1/camera-files/..%2f..%2fswitchboard.db", "admin", "admin", "", 400},
		{"GET", "/api/v1/camera-files/cam44-20261202T110000.000Z-0123abcd.jpg", "admin", "admin", "", 404},
	} {
		res := do(tc.method, tc.path, tc.user, tc.pass, tc.body)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s %s as %s: %d, want %d", tc.method, tc.path, tc.user, res.StatusCode, tc.want)
		}
	}
}
