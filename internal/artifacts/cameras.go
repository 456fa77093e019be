package artifacts

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Camera artifacts are a camera's recordings (MJPEG, .mjpeg) and saved
// pictures (JPEG, .jpg). They live beside the tenant's call recordings, in
// <recording dir>/<tenant>/cameras/, so the recordings' retention policy
// sweeps them too; their names are made here (camera id, UTC time,
// random suffix), never taken from a client, and a name a client sends
// back is matched against that exact shape before it meets the file
// system.

// Kinds of camera artifact, by file extension.
const (
	CameraRecording = "recording" // .mjpeg: multipart JPEG frames
	CameraPicture   = "picture"   // .jpg: one JPEG
)

// CameraExts are the file extensions of camera artifacts (retention).
var cameraExts = map[string]string{".mjpeg": CameraRecording, ".jpg": CameraPicture}

// cameraName is the only shape of a camera artifact's name:
// cam<id>-<yyyymmddThhmmss.mmm>Z-<8 hex>.<ext>.
var cameraName = regexp.MustCompile(`^cam([1-9][0-9]{0,9})-([0-9]{8}T[0-9]{6}\.[0-9]{3}Z)-[0-9a-f]{8}\.(mjpeg|jpg)$`)

const cameraTimeLayout = "20060102T150405.000Z"

// CameraFile is one camera artifact as the APIs list it.
type CameraFile struct {
	Name     string
	Camera   int
	Kind     string // CameraRecording or CameraPicture
	Size     int64
	Created  time.Time // from the name: when the recording started or the picture was taken
	Modified time.Time // last write: a running recording's grows
}

// ParseCameraName checks a camera artifact's name and reads its camera
// id, kind and creation time from it.
func ParseCameraName(name string) (CameraFile, error) {
	m := cameraName.FindStringSubmatch(name)
	if m == nil {
		return CameraFile{}, fmt.Errorf("camera file name %q is not one of ours: %w", name, pbx.ErrInvalidArgument)
	}
	id, err := strconv.Atoi(m[1])
	if err != nil || id > 1<<30 {
		return CameraFile{}, fmt.Errorf("camera file name %q: camera id: %w", name, pbx.ErrInvalidArgument)
	}
	at, err := time.Parse(cameraTimeLayout, m[2])
	if err != nil {
		return CameraFile{}, fmt.Errorf("camera file name %q: time: %w", name, pbx.ErrInvalidArgument)
	}
	return CameraFile{Name: name, Camera: id, Kind: cameraExts["."+m[3]], Created: at}, nil
}

func (s *Store) cameraDir(tenant string) (string, error) {
	dir, err := tenantDir(s.recDir, "camera file", tenant)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "cameras"), nil
}

// NewCameraFile creates a new camera artifact of the given kind for
// camera id, named by us, and returns its name and the file to write.
// The file is created exclusively: an existing one is never overwritten.
func (s *Store) NewCameraFile(tenant string, camera int, kind string, now time.Time) (string, io.WriteCloser, error) {
	ext := ""
	for e, k := range cameraExts {
		if k == kind {
			ext = e
		}
	}
	if ext == "" || camera <= 0 || camera > 1<<30 {
		return "", nil, fmt.Errorf("camera file: kind %q of camera %d: %w", kind, camera, pbx.ErrInvalidArgument)
	}
	dir, err := s.cameraDir(tenant)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, fmt.Errorf("camera file directory: %w", err)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", nil, fmt.Errorf("camera file name: %w", err)
	}
	name := fmt.Sprintf("cam%d-%s-%s%s", camera, now.UTC().Format(cameraTimeLayout), hex.EncodeToString(rnd[:]), ext)
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", nil, fmt.Errorf("camera file: %w", err)
	}
	return name, f, nil
}

// CameraFiles lists a tenant's camera artifacts, newest first; camera 0
// lists every camera's. A node that keeps no recordings has none.
func (s *Store) CameraFiles(tenant string, camera int) ([]CameraFile, error) {
	dir, err := s.cameraDir(tenant)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("camera files: %w", err)
	}
	var out []CameraFile
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		cf, err := ParseCameraName(e.Name())
		if err != nil || (camera != 0 && cf.Camera != camera) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // swept meanwhile
		}
		cf.Size, cf.Modified = fi.Size(), fi.ModTime()
		out = append(out, cf)
	}
	slices.SortFunc(out, func(a, b CameraFile) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	return out, nil
}

// OpenCameraFile opens a camera artifact by the name we gave it.
func (s *Store) OpenCameraFile(tenant, name string) (File, CameraFile, error) {
	cf, err := ParseCameraName(name)
	if err != nil {
		return nil, CameraFile{}, err
	}
	dir, err := s.cameraDir(tenant)
	if err != nil {
		return nil, CameraFile{}, err
	}
	f, err := open("camera file", filepath.Join(dir, name))
	if err != nil {
		return nil, CameraFile{}, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, CameraFile{}, fmt.Errorf("camera file %q: %w", name, pbx.ErrNotFound)
	}
	cf.Size, cf.Modified = fi.Size(), fi.ModTime()
	return f, cf, nil
}
