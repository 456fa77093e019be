package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNoSession is returned for an unknown, expired or revoked session.
var ErrNoSession = errors.New("auth: no such session, or it expired")

// Sessions are logins that survive between requests: WebTAPI passes the
// id as a SID query parameter, VoIPmonitor as a cookie, the native API as
// "Authorization: Session <id>". Ids are 256 random bits; only their
// SHA-256 is kept. A session ends after Idle without use, after Absolute
// in any case, on logout, and when its user's password changes.
type Sessions struct {
	idle, absolute time.Duration
	now            func() time.Time
	acc            Accounts // to see password changes made elsewhere (CLI)

	mu   sync.Mutex
	byID map[string]*session
}

type session struct {
	p        Principal
	created  time.Time
	lastUsed time.Time
	changed  time.Time // the user's password time at login
	stored   bool      // a database user: check for password changes
}

// NewSessions builds the store; zero durations mean 30 minutes idle and
// 12 hours absolute. acc may be nil.
func NewSessions(idle, absolute time.Duration, acc Accounts, now func() time.Time) *Sessions {
	if idle <= 0 {
		idle = 30 * time.Minute
	}
	if absolute <= 0 {
		absolute = 12 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{idle: idle, absolute: absolute, now: now, acc: acc, byID: map[string]*session{}}
}

// Create starts a session for an authenticated principal and returns its
// id (shown to the client once) and absolute expiry.
func (s *Sessions) Create(ctx context.Context, p Principal) (string, time.Time) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	ss := &session{p: p, created: now, lastUsed: now}
	if s.acc != nil && !p.APIKey {
		u, err := s.acc.GetUser(ctx, p.Tenant, p.Name)
		switch {
		case err == nil:
			ss.changed, ss.stored = u.Changed, true
		case !errors.Is(err, ErrNotFound):
			// The store could not say whether this is a database user, so
			// a later password change might go unnoticed: fail closed. The
			// zero password time never matches, and the first Check that
			// reaches the store ends the session.
			ss.stored = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gcLocked(now)
	s.byID[KeySum(id)] = ss
	return id, now.Add(s.absolute)
}

// Check returns the session's principal and marks it used.
func (s *Sessions) Check(ctx context.Context, id string) (Principal, error) {
	k := KeySum(id)
	now := s.now()
	s.mu.Lock()
	ss := s.byID[k]
	if ss == nil || now.Sub(ss.lastUsed) > s.idle || now.Sub(ss.created) > s.absolute {
		delete(s.byID, k)
		s.mu.Unlock()
		return Principal{}, ErrNoSession
	}
	ss.lastUsed = now
	p, stored, changed := ss.p, ss.stored, ss.changed
	s.mu.Unlock()
	if stored && s.acc != nil {
		u, err := s.acc.GetUser(ctx, p.Tenant, p.Name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			// A store failure is the server's, not the session's: keep
			// the session and report the error (500, not 401).
			return Principal{}, fmt.Errorf("auth: checking session: %w", err)
		}
		if err != nil || !u.Changed.Equal(changed) {
			s.Revoke(id) // password changed or user gone
			return Principal{}, ErrNoSession
		}
	}
	return p, nil
}

// Revoke ends a session (logout).
func (s *Sessions) Revoke(id string) {
	s.mu.Lock()
	delete(s.byID, KeySum(id))
	s.mu.Unlock()
}

// RevokeUser ends every session of a user (password change through the
// API; the CLI's changes are caught by Check).
func (s *Sessions) RevokeUser(tenant, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ss := range s.byID {
		if ss.p.Tenant == tenant && ss.p.Name == name && !ss.p.APIKey {
			delete(s.byID, k)
		}
	}
}

func (s *Sessions) gcLocked(now time.Time) {
	if len(s.byID) < 1000 {
		return
	}
	for k, ss := range s.byID {
		if now.Sub(ss.lastUsed) > s.idle || now.Sub(ss.created) > s.absolute {
			delete(s.byID, k)
		}
	}
}
