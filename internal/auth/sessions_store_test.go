package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// flakyUsers is an account store whose GetUser can be made to fail.
type flakyUsers struct {
	Accounts
	mu   sync.Mutex
	fail error
	u    StoredUser
}

func (f *flakyUsers) GetUser(_ context.Context, tenant, name string) (StoredUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return StoredUser{}, f.fail
	}
	if tenant == f.u.Tenant && name == f.u.Name {
		return f.u, nil
	}
	return StoredUser{}, ErrNotFound
}

func (f *flakyUsers) set(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

// TestSessionStoreErrors: a database error while checking a session is
// reported as such (the session survives it), never as "no session"; a
// session created while the store failed ends at its first check, so a
// later password change cannot go unnoticed.
func TestSessionStoreErrors(t *testing.T) {
	changed := time.Unix(1_700_000_000, 0)
	acc := &flakyUsers{u: StoredUser{Tenant: "t", Name: "eve", Changed: changed}}
	s := NewSessions(time.Hour, time.Hour, acc, nil)
	ctx := context.Background()
	p := Principal{Tenant: "t", Name: "eve", Role: "user"}
	id, _ := s.Create(ctx, p)
	dbErr := errors.New("database is locked")
	acc.set(dbErr)
	if _, err := s.Check(ctx, id); !errors.Is(err, dbErr) || errors.Is(err, ErrNoSession) {
		t.Fatalf("check during a store failure: %v", err)
	}
	acc.set(nil)
	if _, err := s.Check(ctx, id); err != nil {
		t.Fatalf("session lost to a transient store failure: %v", err)
	}
	acc.set(dbErr)
	id2, _ := s.Create(ctx, p)
	acc.set(nil)
	if _, err := s.Check(ctx, id2); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session created blind to the password time: %v", err)
	}
}
