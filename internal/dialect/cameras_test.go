package dialect

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// fakeRecorder records which tenant each call reached it with.
type fakeRecorder struct {
	calls []string
	live  string // the running recording's file
}

func (f *fakeRecorder) Start(_ context.Context, tenant string, id int, _ time.Duration) (string, error) {
	f.calls = append(f.calls, "start "+tenant)
	return "cam44-20261202T110000.000Z-0123abcd.mjpeg", nil
}
func (f *fakeRecorder) Stop(_ context.Context, tenant string, id int) (string, error) {
	f.calls = append(f.calls, "stop "+tenant)
	return "cam44-20261202T110000.000Z-0123abcd.mjpeg", nil
}
func (f *fakeRecorder) Picture(_ context.Context, tenant string, id int) (string, error) {
	f.calls = append(f.calls, "picture "+tenant)
	return "cam44-20261202T110001.000Z-0123abcd.jpg", nil
}
func (f *fakeRecorder) Recording(tenant string) []string { return []string{f.live} }

// TestCameraFileRights: making camera files needs cameras.view and
// recordings.control, seeing them cameras.view; a refused principal never
// reaches the recorder, and every call carries the principal's tenant.
func TestCameraFileRights(t *testing.T) {
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local"}}}, nopCDRs{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	rec := &fakeRecorder{}
	store := artifacts.New(t.TempDir(), "")
	name, w, err := store.NewCameraFile("a", 44, artifacts.CameraRecording, time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	rec.live = name
	svc := NewService(core).WithCameraRecorder(rec, store)
	ctx := context.Background()
	only := func(rights ...string) auth.Principal {
		m := map[string]bool{}
		for _, r := range rights {
			m[r] = true
		}
		return auth.Principal{Tenant: "a", Name: "p", Role: "admin", Rights: m}
	}
	makeFiles := func(p auth.Principal) error {
		if _, err := svc.CameraRecordStart(ctx, p, 44, 0); err != nil {
			return err
		}
		if _, err := svc.CameraRecordStop(ctx, p, 44); err != nil {
			return err
		}
		_, err := svc.CameraSavePicture(ctx, p, 44)
		return err
	}
	see := func(p auth.Principal) error {
		if _, err := svc.CameraFileList(ctx, p, 0); err != nil {
			return err
		}
		f, _, err := svc.CameraFileOpen(ctx, p, name)
		if err == nil {
			f.Close()
		}
		return err
	}
	for _, tc := range []struct {
		name      string
		p         auth.Principal
		make, see bool
	}{
		{"both rights", only(auth.ViewCameras, auth.Record), true, true},
		{"view only", only(auth.ViewCameras), false, true},
		{"record only", only(auth.Record), false, false},
		{"readonly role", auth.Principal{Tenant: "a", Name: "r", Role: "readonly"}, false, false},
		{"user role", auth.Principal{Tenant: "a", Name: "u", Role: "user"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.calls = nil
			if err := makeFiles(tc.p); (err == nil) != tc.make || (err != nil && !errors.Is(err, ErrForbidden)) {
				t.Errorf("make files: %v, want allowed=%v", err, tc.make)
			}
			if !tc.make && len(rec.calls) != 0 {
				t.Errorf("a refused principal reached the recorder: %v", rec.calls)
			}
			if tc.make && (len(rec.calls) != 3 || rec.calls[0] != "start a") {
				t.Errorf("recorder calls %v", rec.calls)
			}
			if err := see(tc.p); (err == nil) != tc.see {
				t.Errorf("see files: %v, want allowed=%v", err, tc.see)
			}
		})
	}
	files, err := svc.CameraFileList(ctx, only(auth.ViewCameras), 44)
	if err != nil || len(files) != 1 || files[0].Name != name || !files[0].Recording {
		t.Fatalf("list: %+v %v", files, err)
	}
	if _, err := NewService(core).CameraRecordStart(ctx, only(auth.ViewCameras, auth.Record), 44, 0); !errors.Is(err, pbx.ErrNotSupported) {
		t.Fatalf("without a recorder: %v", err)
	}
}
