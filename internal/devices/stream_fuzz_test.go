package devices

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// bodyTransport answers every request with the same multipart body, so
// the stream parser meets the bytes without a network.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"multipart/x-mixed-replace; boundary=b"}},
		Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// FuzzCameraStream: whatever a camera sends as its MJPEG stream (short or
// lying Content-Lengths, missing boundaries, non-JPEG parts), Stream
// returns, without a panic, and hands on only JPEG frames of at most
// MaxFrame bytes.
func FuzzCameraStream(f *testing.F) {
	frame, _ := Synthetic{Width: 16, Height: 16}.Snapshot(context.Background())
	good := append(append([]byte("--b\r\nContent-Type: image/jpeg\r\nContent-Length: "+strconv.Itoa(len(frame))+"\r\n\r\n"), frame...), "\r\n--b--\r\n"...)
	f.Add(good)
	f.Add([]byte("--b\r\nContent-Length: 99999999\r\n\r\n\xff\xd8\r\n--b--\r\n"))
	f.Add([]byte("--b\r\nContent-Length: 2\r\n\r\n\xff\xd8\xff\xd9\r\n--b\r\n\r\n\xff\xd8x\r\n--b--"))
	f.Add([]byte("--b\r\nContent-Length: -1\r\n\r\nnot a jpeg\r\n--b--\r\n"))
	f.Add([]byte("no boundary at all"))
	f.Fuzz(func(t *testing.T, body []byte) {
		cam := &HTTPCamera{StreamURL: "http://camera.invalid/v", Client: &http.Client{Transport: bodyTransport(body)}, StallTimeout: time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := cam.Stream(ctx, func(f []byte) {
			if len(f) > MaxFrame || !isJPEG(f) {
				t.Fatalf("handed on a frame of %d bytes starting %x", len(f), f[:min(4, len(f))])
			}
		})
		if err == nil && ctx.Err() == nil {
			t.Fatal("a stream that ended reported no error")
		}
	})
}
