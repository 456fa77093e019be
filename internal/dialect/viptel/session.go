package viptel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// actionTimeout bounds one action's call into the core.
const actionTimeout = 10 * time.Second

// maxTracked bounds the per-connection call bookkeeping; live calls are
// bounded by the core's limits, this only guards against missed ends.
const maxTracked = 8192

// session is one connection. Everything but the reader and the pinger
// runs in run's goroutine, so its state needs no lock: messages, events,
// the login timer and the stop signal are all taken in one select.
type session struct {
	v    *Dialect
	conn *websocket.Conn
	req  *http.Request
	ip   netip.Addr

	nonce     string
	loggedIn  bool
	p         auth.Principal
	sub       *eventbus.Subscription[pbx.Event]
	oversized int

	// started holds the calls begun while this connection was logged in:
	// only those may be hung up or redirected (spec).
	started map[string]bool
}

func newSession(v *Dialect, conn *websocket.Conn, r *http.Request) *session {
	return &session{v: v, conn: conn, req: r, ip: dialect.RemoteIP(r),
		started: map[string]bool{}}
}

// newNonce is 128 random bits in hex, fresh per connection.
func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func (s *session) run() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		s.conn.CloseNow()
		wg.Wait()
		if s.sub != nil {
			s.sub.Close()
		}
	}()
	msgs := make(chan []byte)
	readErr := make(chan error, 1)
	wg.Add(2)
	go func() { // the reader: also what answers pings and close frames
		defer wg.Done()
		for {
			_, b, err := s.conn.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // keepalive: a client that stops answering pings is dropped
		defer wg.Done()
		t := time.NewTicker(s.v.opt.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, s.v.opt.PingInterval)
				err := s.conn.Ping(pctx)
				pcancel()
				if err != nil {
					s.conn.CloseNow()
					return
				}
			}
		}
	}()

	nonce, err := newNonce()
	if err != nil {
		s.v.log.Error("viptel: no randomness for a nonce", "err", err)
		s.bye(ctx, resp(500, msgUnexpected))
		return
	}
	s.nonce = nonce
	if s.send(ctx, encode(response{Code: 100, Message: msgHello, Nonce: nonce})) != nil {
		return
	}
	login := time.NewTimer(s.v.opt.LoginTimeout)
	defer login.Stop()
	for {
		var events <-chan eventbus.Envelope[pbx.Event]
		if s.sub != nil {
			events = s.sub.C()
		}
		select {
		case <-s.v.stop:
			s.bye(ctx, resp(503, msgRestarting))
			return
		case <-readErr:
			return // the client left, or sent more than the hard limit
		case <-login.C:
			if !s.loggedIn {
				s.bye(ctx, resp(408, msgLoginTimeout))
				return
			}
		case b := <-msgs:
			if !s.handle(ctx, b) {
				return
			}
		case env, ok := <-events:
			if !ok {
				r := resp(503, msgRestarting)
				if errors.Is(s.sub.Err(), eventbus.ErrSlowConsumer) {
					s.v.log.Warn("viptel: client too slow for its events; closing", "user", s.p.Name, "tenant", s.p.Tenant)
					r = resp(500, msgUnexpected)
				}
				s.bye(ctx, r)
				return
			}
			if !s.event(ctx, env) {
				return
			}
		}
	}
}

// send writes one message.
func (s *session) send(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, b)
}

func (s *session) answer(ctx context.Context, r response) bool {
	return s.send(ctx, encode(r)) == nil
}

// bye sends the reason, then 110 "Closing connection, bye" (the spec:
// a closing connection always gets that message), and closes.
func (s *session) bye(ctx context.Context, reason response) {
	if s.send(ctx, encode(reason)) == nil && s.send(ctx, encode(resp(110, msgClosing))) == nil {
		_ = s.conn.Close(websocket.StatusNormalClosure, "")
	}
}

// handle answers one client message; false ends the connection.
func (s *session) handle(ctx context.Context, b []byte) bool {
	if len(b) > s.v.opt.MaxMessage {
		s.oversized++
		r := invalid(fieldError{"message", "is too large"})
		if s.oversized >= maxOversized {
			s.bye(ctx, r)
			return false
		}
		return s.answer(ctx, r)
	}
	req, bad := parseRequest(b)
	if bad != nil {
		return s.answer(ctx, *bad)
	}
	if !s.loggedIn {
		switch req.Action {
		case "user.login", "login":
			return s.login(ctx, req)
		}
		return s.answer(ctx, resp(401, msgLoginFirst))
	}
	switch req.Action {
	case "user.login", "login":
		return s.answer(ctx, invalid(fieldError{"action", "already logged in on this connection"}))
	case "user.logout":
		s.v.deps.AuditRequest(s.req, s.p, Name, "user.logout", "", 110, "")
		if s.send(ctx, encode(resp(110, msgBye))) == nil {
			_ = s.conn.Close(websocket.StatusNormalClosure, "")
		}
		return false
	case "call.create":
		return s.create(ctx, req)
	case "call.hangup":
		return s.hangup(ctx, req)
	case "call.redirect":
		return s.redirect(ctx, req)
	}
	return s.answer(ctx, resp(404, msgUnknown))
}

// maxCredential bounds username and password before they reach the gate.
const maxCredential = 256

func (s *session) login(ctx context.Context, req request) bool {
	var errs []fieldError
	name := req.str("username", true, false, &errs)
	hash := req.str("password", true, false, &errs)
	if len(name) > maxCredential {
		errs = append(errs, fieldError{"username", "is too long"})
	}
	if len(hash) > maxCredential {
		errs = append(errs, fieldError{"password", "is too long"})
	}
	if len(errs) > 0 {
		return s.answer(ctx, invalid(errs...))
	}
	lctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	nonce := s.nonce
	p, err := s.v.deps.Gate.Auth.LoginChallenge(lctx, auth.LoginAttempt{Name: name, IP: s.ip}, func(p auth.Principal) bool {
		return auth.CheckVIPTelResponse(p.VIPTelVerifier, nonce, hash)
	})
	if err != nil {
		s.v.log.Info("viptel: login refused", "account", dialect.LogName(name), "ip", s.ip, "err", err)
		r, _ := errorResponse(err)
		if r.Code == 500 {
			r = resp(500, msgUnexpected)
		}
		s.v.deps.AuditRequest(s.req, auth.Principal{Name: dialect.LogName(name)}, Name, "user.login", "", r.Code, r.Message)
		s.bye(ctx, r)
		return false
	}
	s.p, s.loggedIn = p, true
	// Events from now on: the subscription starts at login, so calls
	// begun before it are never "started during this connection".
	s.sub, _ = s.v.deps.Events.SubscribeAt(p.Tenant, eventBuffer)
	s.v.log.Info("viptel: logged in", "user", p.Name, "tenant", p.Tenant, "ip", s.ip)
	s.v.deps.AuditRequest(s.req, p, Name, "user.login", "", 202, "")
	return s.answer(ctx, resp(202, msgLoggedIn))
}

// name is an extension's name for caller_name and callee_name.
func (s *session) name(number string) string {
	return s.v.names.lookup(s.v.deps.Service, s.p, s.v.now())[number]
}

// event tracks the calls of the tenant (before filtering: bookkeeping,
// not disclosure) and sends what the principal may see.
func (s *session) event(ctx context.Context, env eventbus.Envelope[pbx.Event]) bool {
	e := env.Event
	switch e.Type {
	case pbx.EvShutdown:
		s.bye(ctx, resp(503, msgRestarting))
		return false
	case pbx.EvCallNew:
		if len(s.started) < maxTracked {
			s.started[e.Call.ID] = true
		}
	case pbx.EvCallEnded:
		delete(s.started, e.Call.ID)
	}
	if !s.p.Can(auth.ReadCalls) {
		return true
	}
	ve, ok := dialect.VisibleEvent(s.p, e)
	if !ok {
		return true
	}
	names := s.p.Can(auth.ReadDirectory)
	b := s.v.wire.get(wireKey{env.Tenant, env.Seq, names}, func() []byte {
		if !names {
			return encodeEvent(ve, nil)
		}
		return encodeEvent(ve, s.name)
	})
	if len(b) == 0 {
		return true
	}
	return s.send(ctx, b) == nil
}

func (s *session) create(ctx context.Context, req request) bool {
	var errs []fieldError
	from := req.str("from", true, true, &errs)
	to := req.str("to", true, true, &errs)
	rid := req.str("call_random_id", true, true, &errs)
	cid := req.str("caller_id", false, true, &errs)
	if rid != "" && !validRandomID(rid) {
		errs = append(errs, fieldError{"call_random_id", "must be 1-64 letters and digits"})
	}
	if cid != "" && !pbx.ValidCallerID(cid) {
		errs = append(errs, fieldError{"caller_id", fmt.Sprintf("must be 1-%d letters, digits and + * # . _ -", pbx.MaxCallerIDLen)})
	}
	if len(errs) > 0 {
		return s.answer(ctx, invalid(errs...))
	}
	// call_random_id is the user's idempotency key (the Service's, shared
	// with the native Idempotency-Key): a retry within 24 hours, from this
	// connection or a later one, even after a restart, gets the first
	// call's unique id and never rings again.
	// caller_id is the number presented to the called party (and a
	// carrier): the Service allows only the numbers configured for the
	// account, else its tenant (403 otherwise).
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	b, replayed, err := s.v.deps.Service.Once(actx, s.p, Name, rid, dialect.Fingerprint(from, to, cid), func(ctx context.Context) ([]byte, error) {
		call, err := s.v.deps.Service.Originate(ctx, s.p, pbx.OriginateRequest{From: from, To: to, OutboundCallerID: cid}, false)
		if err != nil {
			return nil, err
		}
		return []byte(call.ID), nil
	})
	if errors.Is(err, dialect.ErrKeyReused) {
		return s.answer(ctx, invalid(fieldError{"call_random_id", "already used for a call with other values"}))
	}
	if err != nil {
		r, _ := errorResponse(err)
		if r.Code == 404 { // nothing to find: the from extension is unknown
			r = resp(500, msgFailed)
		}
		s.v.log.Info("viptel: call.create failed", "user", s.p.Name, "from", from, "err", err)
		s.v.deps.AuditRequest(s.req, s.p, Name, "call.create", from+">"+to, r.Code, err.Error())
		return s.answer(ctx, r)
	}
	id := string(b)
	if len(s.started) < maxTracked {
		s.started[id] = true
	}
	if !replayed {
		s.v.deps.AuditRequest(s.req, s.p, Name, "call.create", id, 200, "")
	}
	return s.sendJSON(ctx, createResponse{Event: "call.create_response", UniqueID: id, CallRandomID: rid})
}

func (s *session) sendJSON(ctx context.Context, v any) bool {
	b := encodeValue(v)
	return s.send(ctx, b) == nil
}

// ownCall resolves a unique_id the client may act on: a live call (by its
// id or one of its channels') begun while this connection was logged in.
// Calls a restricted principal may not see are not found, as for it they
// do not exist.
func (s *session) ownCall(uid string) (pbx.Call, *response) {
	if !s.p.Can(auth.ControlCalls) || !s.p.Can(auth.ReadCalls) {
		r := resp(403, msgForbidden)
		return pbx.Call{}, &r
	}
	c, err := s.v.deps.Service.FindCall(s.p, uid)
	if err != nil || !s.started[c.ID] {
		r := resp(404, msgNoCall)
		return pbx.Call{}, &r
	}
	return c, nil
}

func (s *session) hangup(ctx context.Context, req request) bool {
	var errs []fieldError
	uid := req.str("unique_id", true, false, &errs)
	if len(errs) > 0 {
		return s.answer(ctx, invalid(errs...))
	}
	c, bad := s.ownCall(uid)
	if bad != nil {
		return s.answer(ctx, *bad)
	}
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := s.v.deps.Service.Hangup(actx, s.p, c.ID); err != nil {
		r, _ := errorResponse(err)
		s.v.deps.AuditRequest(s.req, s.p, Name, "call.hangup", c.ID, r.Code, err.Error())
		return s.answer(ctx, r)
	}
	// Success has no response in the spec: call.end follows.
	s.v.deps.AuditRequest(s.req, s.p, Name, "call.hangup", c.ID, 200, "")
	return true
}

func (s *session) redirect(ctx context.Context, req request) bool {
	var errs []fieldError
	uid := req.str("unique_id", true, false, &errs)
	dest := req.str("destination", true, true, &errs)
	if len(errs) > 0 {
		return s.answer(ctx, invalid(errs...))
	}
	c, bad := s.ownCall(uid)
	if bad != nil {
		return s.answer(ctx, *bad)
	}
	// The call's id is its first channel's; once that leg is gone (an
	// earlier redirect) the call still answers to the id, so redirect
	// the first leg still up.
	target := uid
	if uid == c.ID {
		target = ""
		for _, ch := range c.Channels {
			if ch.State != pbx.ChanHangup {
				target = ch.UniqueID
				break
			}
		}
		if target == "" {
			return s.answer(ctx, resp(404, msgNoCall))
		}
	}
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := s.v.deps.Service.Redirect(actx, s.p, target, dest); err != nil {
		r, _ := errorResponse(err)
		s.v.deps.AuditRequest(s.req, s.p, Name, "call.redirect", c.ID, r.Code, err.Error())
		return s.answer(ctx, r)
	}
	s.v.deps.AuditRequest(s.req, s.p, Name, "call.redirect", c.ID+">"+dest, 200, "")
	return true
}
