package dialect

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/devices"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Cameras is what the service needs of the cameras (*devices.Cameras).
type Cameras interface {
	List(tenant string) []devices.Camera
	Snapshot(ctx context.Context, tenant string, id int) ([]byte, error)
	Watch(ctx context.Context, tenant string, id int, fn func(frame []byte) error) error
}

var _ Cameras = (*devices.Cameras)(nil)

// WithCameras lets the service show cameras.
func (s *Service) WithCameras(c Cameras) *Service {
	s.cameras = c
	return s
}

func (s *Service) camerasFor(p auth.Principal) (Cameras, error) {
	if err := need(p, auth.ViewCameras); err != nil {
		return nil, err
	}
	if s.cameras == nil {
		return nil, fmt.Errorf("cameras: %w", pbx.ErrNotSupported)
	}
	return s.cameras, nil
}

// CameraList lists the tenant's cameras.
func (s *Service) CameraList(p auth.Principal) ([]devices.Camera, error) {
	c, err := s.camerasFor(p)
	if err != nil {
		return nil, err
	}
	return c.List(p.Tenant), nil
}

// CameraSnapshot is one JPEG of a camera.
func (s *Service) CameraSnapshot(ctx context.Context, p auth.Principal, id int) ([]byte, error) {
	c, err := s.camerasFor(p)
	if err != nil {
		return nil, err
	}
	return c.Snapshot(ctx, p.Tenant, id)
}

// CameraWatch streams a camera's frames to fn until ctx ends.
func (s *Service) CameraWatch(ctx context.Context, p auth.Principal, id int, fn func(frame []byte) error) error {
	c, err := s.camerasFor(p)
	if err != nil {
		return err
	}
	return c.Watch(ctx, p.Tenant, id, fn)
}

// CameraRecorder records cameras into files (*devices.Recorder).
type CameraRecorder interface {
	Start(ctx context.Context, tenant string, id int, max time.Duration) (string, error)
	Stop(ctx context.Context, tenant string, id int) (string, error)
	Picture(ctx context.Context, tenant string, id int) (string, error)
	Recording(tenant string) []string
}

var _ CameraRecorder = (*devices.Recorder)(nil)

// CameraFiles lists and opens the cameras' recordings and pictures
// (*artifacts.Store): opened files, never paths.
type CameraFiles interface {
	CameraFiles(tenant string, camera int) ([]artifacts.CameraFile, error)
	OpenCameraFile(tenant, name string) (artifacts.File, artifacts.CameraFile, error)
}

var _ CameraFiles = (*artifacts.Store)(nil)

// WithCameraRecorder lets the service record cameras and save their
// pictures into files, and list and open those files.
func (s *Service) WithCameraRecorder(r CameraRecorder, f CameraFiles) *Service {
	s.camRec, s.camFiles = r, f
	return s
}

// CameraFile is a camera's recording or picture as the APIs list it.
type CameraFile struct {
	artifacts.CameraFile
	// Recording: the file is a recording still being written.
	Recording bool
}

// mayRecordCameras: making camera files needs cameras.view (the right to
// see the picture at all) and recordings.control (the right to keep what is seen),
// the same right that records calls. Seeing the files afterwards needs
// only cameras.view: whoever may watch a camera live may watch its past.
func (s *Service) mayRecordCameras(p auth.Principal) (CameraRecorder, error) {
	if err := need(p, auth.ViewCameras); err != nil {
		return nil, err
	}
	if err := need(p, auth.Record); err != nil {
		return nil, err
	}
	if s.camRec == nil {
		return nil, fmt.Errorf("camera recording: %w", pbx.ErrNotSupported)
	}
	return s.camRec, nil
}

// CameraRecordStart records camera id until max (0: the longest allowed,
// devices.MaxRecording) or CameraRecordStop; it returns the file's name
// once the first frame is written.
func (s *Service) CameraRecordStart(ctx context.Context, p auth.Principal, id int, max time.Duration) (string, error) {
	r, err := s.mayRecordCameras(p)
	if err != nil {
		return "", err
	}
	return r.Start(ctx, p.Tenant, id, max)
}

// CameraRecordStop ends camera id's recording and returns its file's
// name once the file is complete.
func (s *Service) CameraRecordStop(ctx context.Context, p auth.Principal, id int) (string, error) {
	r, err := s.mayRecordCameras(p)
	if err != nil {
		return "", err
	}
	return r.Stop(ctx, p.Tenant, id)
}

// CameraSavePicture saves one JPEG of camera id and returns its name.
func (s *Service) CameraSavePicture(ctx context.Context, p auth.Principal, id int) (string, error) {
	r, err := s.mayRecordCameras(p)
	if err != nil {
		return "", err
	}
	return r.Picture(ctx, p.Tenant, id)
}

func (s *Service) cameraFilesFor(p auth.Principal) (CameraFiles, error) {
	if err := need(p, auth.ViewCameras); err != nil {
		return nil, err
	}
	if s.camFiles == nil {
		return nil, fmt.Errorf("camera files: %w", pbx.ErrNotSupported)
	}
	return s.camFiles, nil
}

// CameraFileList lists the tenant's camera recordings and pictures,
// newest first; camera 0 lists every camera's (also those of cameras
// since removed from the configuration).
func (s *Service) CameraFileList(ctx context.Context, p auth.Principal, camera int) ([]CameraFile, error) {
	f, err := s.cameraFilesFor(p)
	if err != nil {
		return nil, err
	}
	if camera < 0 {
		return nil, fmt.Errorf("camera id %d: %w", camera, pbx.ErrInvalidArgument)
	}
	files, err := f.CameraFiles(p.Tenant, camera)
	if err != nil {
		return nil, err
	}
	var live []string
	if s.camRec != nil {
		live = s.camRec.Recording(p.Tenant)
	}
	out := make([]CameraFile, len(files))
	for i, cf := range files {
		out[i] = CameraFile{CameraFile: cf, Recording: slices.Contains(live, cf.Name)}
	}
	return out, nil
}

// CameraFileOpen opens one of the tenant's camera files by the name the
// service gave it; the caller closes it.
func (s *Service) CameraFileOpen(ctx context.Context, p auth.Principal, name string) (artifacts.File, CameraFile, error) {
	f, err := s.cameraFilesFor(p)
	if err != nil {
		return nil, CameraFile{}, err
	}
	file, cf, err := f.OpenCameraFile(p.Tenant, name)
	if err != nil {
		return nil, CameraFile{}, err
	}
	var live []string
	if s.camRec != nil {
		live = s.camRec.Recording(p.Tenant)
	}
	return file, CameraFile{CameraFile: cf, Recording: slices.Contains(live, cf.Name)}, nil
}
