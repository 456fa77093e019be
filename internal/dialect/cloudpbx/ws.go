package cloudpbx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

const (
	// eventBuffer is how far a client may fall behind before it is cut off
	// (it reconnects; CloudPBX has no replay).
	eventBuffer = 1024
	// readLimit bounds a client frame: the spec has the client send
	// nothing, so anything larger than a small frame closes the connection
	// with StatusMessageTooBig; smaller garbage is read and dropped.
	readLimit = 4096
	// defaultMaxStreams per account when the node does not say.
	defaultMaxStreams = 20
	pingEvery         = 30 * time.Second
	writeTimeout      = 10 * time.Second
)

// connCounter bounds the event streams one account holds open.
type connCounter struct {
	mu  sync.Mutex
	n   map[string]int
	max int // 0: defaultMaxStreams; <0: no limit
}

func (c *connCounter) acquire(p auth.Principal) (release func(), ok bool) {
	limit := c.max
	if limit == 0 {
		limit = defaultMaxStreams
	}
	k := p.Tenant + "\x00" + dialect.OwnerKey(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if limit > 0 && c.n[k] >= limit {
		return nil, false
	}
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n[k]--; c.n[k] <= 0 {
			delete(c.n, k)
		}
	}, true
}

// events is GET /ws/pbx_{PBX_NAME}?pbxkey=KEY: the PBX's events as the
// spec's messages. The key is the pbxkey parameter (or, for clients that
// send headers, an Authorization: Bearer header), checked by the gate as
// a Bearer key; the PBX name must be the key's tenant, else 401 as for a
// wrong key, so the answer does not tell which PBX names exist.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusSwitchingProtocols}
	w = sw
	var p auth.Principal
	defer func() { a.d.AuditRequest(r, p, Name, "GET /ws/{channel}", r.URL.Path, sw.status, "") }()
	authz := r.Header.Get("Authorization")
	if key := r.URL.Query().Get("pbxkey"); key != "" {
		authz = "Bearer " + key
	}
	var err error
	if p, err = a.authenticate(r, authz); err != nil {
		a.fail(w, r, err)
		return
	}
	channel := r.PathValue("channel")
	if name, ok := strings.CutPrefix(channel, "pbx_"); !ok || name != p.Tenant {
		a.fail(w, r, fmt.Errorf("channel %q is not the key's PBX: %w", clip(channel), auth.ErrBadCredentials))
		return
	}
	if !p.Can(auth.ReadEvents) {
		a.fail(w, r, fmt.Errorf("%s: %w", auth.ReadEvents, dialect.ErrForbidden))
		return
	}
	release, ok := a.conns.acquire(p)
	if !ok {
		writeText(w, http.StatusTooManyRequests, msgTooMany)
		return
	}
	defer release()
	a.streams.Add(1)
	defer a.streams.Done()
	// Subscribe before the handshake completes: a client may act the
	// moment its dial returns, and the events that causes must reach it.
	sub, _ := a.d.Events.SubscribeAt(p.Tenant, eventBuffer)
	defer sub.Close()
	// Any origin: the key in the URL is the credential, not a cookie a
	// browser would add to a cross-site request, and the spec names
	// browser JS among its clients.
	aw, ar := tolerateKey(sw.ResponseWriter, r)
	conn, err := websocket.Accept(aw, ar, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept answered the client
	}
	defer conn.CloseNow()
	conn.SetReadLimit(readLimit)
	// ctx ends the stream: the client going, the request ending or the
	// dialect closing. The reader has its own context, because a read
	// whose context ends closes the connection without a status, and a
	// closing dialect should say StatusGoingAway.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()
	readCtx, readCancel := context.WithCancel(context.WithoutCancel(r.Context()))
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // drops client frames; ends the stream when the client goes
		defer readers.Done()
		defer cancel()
		for {
			if _, _, err := conn.Read(readCtx); err != nil {
				return
			}
		}
	}()
	// Deferred in this order, they run: close the connection, end the
	// reader, wait for it.
	defer readers.Wait()
	defer readCancel()
	defer conn.CloseNow()
	a.stream(ctx, conn, sub, p, channel)
}

// stream writes translated events until the client, the request or the
// dialect ends; a slow client is closed with StatusTryAgainLater.
func (a *API) stream(ctx context.Context, conn *websocket.Conn, sub *eventbus.Subscription[pbx.Event], p auth.Principal, channel string) {
	nameOf := a.namer(p)
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			if a.ctx.Err() != nil {
				_ = conn.Close(websocket.StatusGoingAway, "server closing")
			}
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case env, ok := <-sub.C():
			if !ok {
				reason := "server closing"
				if errors.Is(sub.Err(), eventbus.ErrSlowConsumer) {
					reason = "too slow: reconnect"
				}
				_ = conn.Close(websocket.StatusTryAgainLater, reason)
				return
			}
			e, visible := dialect.VisibleEvent(p, env.Event)
			if !visible {
				continue
			}
			text := translate(p.Tenant, e, nameOf)
			if text == nil {
				continue
			}
			b, err := marshal(message{ID: env.Seq, Channel: channel, Text: text})
			if err != nil {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err = conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// namer resolves extension names for cmember through the service (with
// the principal's rights), remembering them for the connection's life.
func (a *API) namer(p auth.Principal) names {
	cache := map[string]string{}
	return func(number string) string {
		if n, ok := cache[number]; ok {
			return n
		}
		x, err := a.d.Service.Extension(p, number)
		if err != nil {
			return ""
		}
		if len(cache) < 10000 {
			cache[number] = x.Name
		}
		return x.Name
	}
}
