package capture

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Retention deletes the oldest files under Dir (regular files whose names
// end in one of Exts) until every remaining file is younger than MaxAge
// and together they take at most MaxBytes. Zero means no limit.
type Retention struct {
	Dir      string
	Exts     []string
	MaxAge   time.Duration
	MaxBytes int64
	Now      func() time.Time
	// OnDelete is told each deleted path (for the log and the index).
	OnDelete func(path string)
}

type fileInfo struct {
	path string
	size int64
	mod  time.Time
}

// Sweep applies the limits once, oldest first by modification time. It
// never follows symbolic links and never deletes outside Dir.
func (r Retention) Sweep() ([]string, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	var files []fileInfo
	var total int64
	root := filepath.Clean(r.Dir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are skipped, not fatal
		}
		if !d.Type().IsRegular() {
			return nil // directories are walked; links, devices and sockets ignored
		}
		if !r.matches(d.Name()) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		files = append(files, fileInfo{path: p, size: fi.Size(), mod: fi.ModTime()})
		total += fi.Size()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b fileInfo) int { return a.mod.Compare(b.mod) })
	var deleted []string
	cutoff := now().Add(-r.MaxAge)
	for _, f := range files {
		tooOld := r.MaxAge > 0 && f.mod.Before(cutoff)
		tooBig := r.MaxBytes > 0 && total > r.MaxBytes
		if !tooOld && !tooBig {
			break // sorted oldest first: nothing younger is due either
		}
		if rel, err := filepath.Rel(root, f.path); err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		if err := os.Remove(f.path); err != nil {
			continue
		}
		total -= f.size
		deleted = append(deleted, f.path)
		if r.OnDelete != nil {
			r.OnDelete(f.path)
		}
	}
	return deleted, nil
}

func (r Retention) matches(name string) bool {
	if len(r.Exts) == 0 {
		return true
	}
	for _, e := range r.Exts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// Run sweeps every interval until ctx ends; the caller owns the goroutine.
func (r Retention) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_, _ = r.Sweep()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
