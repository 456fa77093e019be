package dialect

import (
	"context"
	"fmt"

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
