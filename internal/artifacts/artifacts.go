// Package artifacts owns the files calls and cameras leave behind:
// recordings (WAV), per-call captures (PCAP) and the cameras' recordings
// (MJPEG) and pictures (JPEG). It alone builds their paths, creates their
// directories, opens them for ranged serving and sweeps them by age and
// size, so the core and the API dialects do no file I/O and no name a
// client sends ever becomes a path unchecked. Node builds it; the core
// and the dialects see it through small interfaces.
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/capture"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// File is an opened artifact: readable with seeks (HTTP Range), with its
// size and modification time.
type File interface {
	io.ReadSeekCloser
	Stat() (fs.FileInfo, error)
}

// Store is the recordings and captures directories. An empty directory
// means that kind of artifact is not kept (ErrNotSupported).
type Store struct {
	recDir, capDir string
}

// New returns the store for these directories.
func New(recordingDir, captureDir string) *Store {
	return &Store{recDir: recordingDir, capDir: captureDir}
}

// tenantDir is root/<tenant>, refusing tenant names that are not plain
// directory names (the config loader allows letters, digits, - and _).
func tenantDir(root, kind, tenant string) (string, error) {
	if root == "" {
		return "", fmt.Errorf("%s: not kept on this node: %w", kind, pbx.ErrNotSupported)
	}
	if !plainName(tenant) {
		return "", fmt.Errorf("%s: tenant name %q cannot be a directory name: %w", kind, tenant, pbx.ErrInvalidArgument)
	}
	return filepath.Join(root, tenant), nil
}

// plainName accepts a single path element of safe characters: no
// separators, no leading dot, no "..".
func plainName(s string) bool {
	if s == "" || len(s) > 255 || strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// recordingPath is where a recording file of tenant lives.
func (s *Store) recordingPath(tenant, file string) (string, error) {
	dir, err := tenantDir(s.recDir, "recording", tenant)
	if err != nil {
		return "", err
	}
	if name, err := pbx.ValidRecordingName(file); err != nil || name != file {
		return "", fmt.Errorf("recording: file name %q is not safe: %w", file, pbx.ErrInvalidArgument)
	}
	return filepath.Join(dir, file), nil
}

// NewRecording prepares a recording file: it creates the tenant's
// directory and returns the path to write, refusing a name that exists
// already (recordings are never overwritten: pbx.ErrBusy).
func (s *Store) NewRecording(tenant, file string) (string, error) {
	path, err := s.recordingPath(tenant, file)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("recording directory: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return "", fmt.Errorf("a recording named %q exists already: %w", file, pbx.ErrBusy)
	}
	return path, nil
}

// RecordingStat is a recording file's size and modification time
// (recovery of recordings a crash left open).
func (s *Store) RecordingStat(tenant, file string) (int64, time.Time, error) {
	path, err := s.recordingPath(tenant, file)
	if err != nil {
		return 0, time.Time{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, time.Time{}, notFound("recording", err)
	}
	return fi.Size(), fi.ModTime(), nil
}

// OpenRecording opens a recording's file for reading.
func (s *Store) OpenRecording(tenant, file string) (File, error) {
	path, err := s.recordingPath(tenant, file)
	if err != nil {
		return nil, err
	}
	return open("recording", path)
}

// CapturePath is where the PCAP of the call with this unique id lives (it
// may not exist: capture disabled, retention, or the call is still live).
func (s *Store) CapturePath(tenant, uniqueID string) (string, error) {
	dir, err := tenantDir(s.capDir, "capture", tenant)
	if err != nil {
		return "", err
	}
	if uniqueID == "" || strings.Trim(uniqueID, "0123456789.") != "" || strings.HasPrefix(uniqueID, ".") || strings.Contains(uniqueID, "..") {
		return "", fmt.Errorf("capture: %q is not a unique id: %w", uniqueID, pbx.ErrInvalidArgument)
	}
	return filepath.Join(dir, uniqueID+".pcap"), nil
}

// OpenCapture opens a call's PCAP for reading.
func (s *Store) OpenCapture(tenant, uniqueID string) (File, error) {
	path, err := s.CapturePath(tenant, uniqueID)
	if err != nil {
		return nil, err
	}
	return open("capture", path)
}

// SIPLadder reads the SIP messages of a call's PCAP in order.
func (s *Store) SIPLadder(tenant, uniqueID string, withRaw bool) ([]capture.Message, error) {
	f, err := s.OpenCapture(tenant, uniqueID)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return capture.ReadSIPFrom(f, withRaw)
}

func open(kind, path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, notFound(kind, err)
	}
	return f, nil
}

// notFound turns a missing file into pbx.ErrNotFound: retention or an
// operator deleted it, which a client should hear as "gone".
func notFound(kind string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s file is gone (retention or manual deletion): %w", kind, pbx.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", kind, err)
}

// Policy bounds what one kind of artifact may keep; zero values keep all.
type Policy struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// RunRetention sweeps recordings (with the cameras' recordings and
// pictures, under the same policy) and captures every interval until ctx
// ends, oldest first, never following symlinks or leaving its directory.
// It blocks; run it on a goroutine the caller owns.
func (s *Store) RunRetention(ctx context.Context, every time.Duration, recordings, captures Policy, onDelete func(path string)) {
	var rs []capture.Retention
	for _, r := range []struct {
		dir string
		ext []string
		p   Policy
	}{{s.recDir, []string{".wav", ".mjpeg", ".jpg"}, recordings}, {s.capDir, []string{".pcap"}, captures}} {
		if r.dir == "" || (r.p.MaxAge == 0 && r.p.MaxBytes == 0) {
			continue
		}
		rs = append(rs, capture.Retention{Dir: r.dir, Exts: r.ext, MaxAge: r.p.MaxAge, MaxBytes: r.p.MaxBytes, OnDelete: onDelete})
	}
	if len(rs) == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, r := range rs {
			_, _ = r.Sweep()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
