// Package demobot holds the demo's bot phones and its simulated carrier:
// real SIP user agents on real loopback sockets that register, answer,
// play tones, take DTMF and place calls exactly as desk phones would. The
// demo and the end-to-end tests use them; they know nothing of the PBX's
// internals and talk to it only over SIP.
package demobot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// endpoint is a SIP user agent on one UDP socket that answers INVITEs
// according to a policy and keeps the dialogs it is in.
type endpoint struct {
	log    *slog.Logger
	ports  *media.PortAllocator
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    *sipgo.DialogUA
	conn   net.PacketConn
	addr   netip.AddrPort

	// policy decides how to treat an INVITE for number: a final failure
	// code, or 0 to answer after delay playing tone.
	policy func(number string) (code int, delay time.Duration, tone float64)
	onDTMF func(number string, digit rune)
	onHear func(number string, pcm []int16)

	mu      sync.Mutex
	dialogs map[string]*dialog // by Call-ID
	closing bool
	wg      sync.WaitGroup // calls and timers; ended by cancel
	serveWG sync.WaitGroup // the SIP read loop; ended by closing the socket
	ctx     context.Context
	cancel  context.CancelFunc
}

type dialog struct {
	number string
	srv    *sipgo.DialogServerSession
	cli    *sipgo.DialogClientSession
	digits []rune
}

func newEndpoint(ip netip.Addr, ports *media.PortAllocator, name string, log *slog.Logger) (*endpoint, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if ports == nil {
		return nil, errors.New("demobot: no RTP port allocator")
	}
	conn, err := net.ListenPacket("udp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		return nil, fmt.Errorf("demobot: listen: %w", err)
	}
	_ = conn.(*net.UDPConn).SetReadBuffer(1 << 20)
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	e := &endpoint{log: log.With("component", name), ports: ports, conn: conn, addr: addr, dialogs: map[string]*dialog{}}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if e.ua, err = sipgo.NewUA(sipgo.WithUserAgent("switchboard-"+name), sipgo.WithUserAgentHostname(ip.String())); err != nil {
		conn.Close()
		return nil, err
	}
	e.srv, _ = sipgo.NewServer(e.ua)
	e.client, _ = sipgo.NewClient(e.ua, sipgo.WithClientAddr(addr.String()), sipgo.WithClientConnectionAddr(addr.String()))
	e.dua = &sipgo.DialogUA{Client: e.client, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: ip.String(), Port: int(addr.Port())}}}
	e.srv.OnInvite(e.handleInvite)
	e.srv.OnAck(e.handleAck)
	e.srv.OnBye(e.handleBye)
	e.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	return e, nil
}

func (e *endpoint) serve() {
	e.serveWG.Add(1)
	go func() {
		defer e.serveWG.Done()
		_ = e.srv.ServeUDP(e.conn)
	}()
}

func (e *endpoint) close() error {
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()
	e.cancel() // ends every call goroutine; they send BYE on the way out
	e.wg.Wait()
	e.conn.Close()
	err := e.ua.Close()
	e.serveWG.Wait()
	return err
}

func (e *endpoint) active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.dialogs)
}

func (e *endpoint) track(callID string, d *dialog) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return false
	}
	e.dialogs[callID] = d
	e.wg.Add(1)
	return true
}

func (e *endpoint) untrack(callID string) {
	e.mu.Lock()
	delete(e.dialogs, callID)
	e.mu.Unlock()
	e.wg.Done()
}

func (e *endpoint) lookup(callID string) *dialog {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dialogs[callID]
}

func (e *endpoint) handleAck(req *sip.Request, tx sip.ServerTransaction) {
	if d := e.lookup(req.CallID().Value()); d != nil && d.srv != nil {
		_ = d.srv.ReadAck(req, tx)
	}
}

func (e *endpoint) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	d := e.lookup(req.CallID().Value())
	switch {
	case d == nil:
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	case d.srv != nil:
		_ = d.srv.ReadBye(req, tx)
	case d.cli != nil:
		_ = d.cli.ReadBye(req, tx)
	}
}

func (e *endpoint) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			// Re-INVITE (hold, codec change): keep the call as it is.
			_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
	}
	number := req.Recipient.User
	code, delay, tone := e.policy(number)
	if code >= 300 && code != 408 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason(code), nil))
		return
	}
	offer, err := media.ParseSDP(req.Body())
	var codec media.Codec
	if err == nil {
		codec, err = media.Negotiate(offer, []media.Codec{media.PCMU, media.PCMA})
	}
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	ds, err := e.dua.ReadInvite(req, tx)
	if err != nil {
		return
	}
	d := &dialog{number: number, srv: ds}
	callID := req.CallID().Value()
	if !e.track(callID, d) {
		_ = ds.Respond(503, "Service Unavailable", nil)
		return
	}
	defer e.untrack(callID)
	defer ds.Close()
	_ = ds.Respond(180, "Ringing", nil)

	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-ds.Context().Done(): // cancelled by the caller
		return
	case <-e.ctx.Done():
		_ = ds.Respond(480, "Temporarily Unavailable", nil)
		return
	case <-timer.C:
	}
	if code == 408 {
		_ = ds.Respond(408, "Request Timeout", nil)
		return
	}
	leg, err := e.ports.NewLeg()
	if err != nil {
		_ = ds.Respond(503, "Service Unavailable", nil)
		return
	}
	defer leg.Close()
	leg.SetRemote(offer.Addr, codec, offer.DTMFPT)
	dtmf := offer.DTMFPT
	if dtmf == 0 {
		dtmf = 101
	}
	answer := media.BuildSDP(media.SessionDesc{Addr: leg.LocalAddr(), Codecs: []media.Codec{codec}, DTMFPT: dtmf, Direction: "sendrecv"}, rand.Uint64N(1<<62), 1)
	e.talk(ds.Context(), leg, d, tone, func() error { return ds.RespondSDP(answer) }, func(ctx context.Context) error { return ds.Bye(ctx) })
}

// talk runs an answered call: tone out, digits in, until the dialog ends
// or the endpoint closes (then it hangs up).
func (e *endpoint) talk(dctx context.Context, leg *media.Leg, d *dialog, tone float64, answer func() error, bye func(context.Context) error) {
	leg.OnDTMF(func(r rune, _ time.Duration) {
		e.mu.Lock()
		d.digits = append(d.digits, r)
		cb := e.onDTMF
		e.mu.Unlock()
		if cb != nil {
			cb(d.number, r)
		}
	})
	e.mu.Lock()
	hear := e.onHear
	e.mu.Unlock()
	if hear != nil {
		defer leg.AddTap(func(pcm []int16) { hear(d.number, pcm) })()
	}
	leg.StartReceiving()
	toneCtx, stopTone := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = leg.PlayTone(toneCtx, tone) }()
	defer func() { stopTone(); wg.Wait() }()
	if answer != nil {
		if err := answer(); err != nil {
			e.log.Debug("answer failed", "number", d.number, "err", err)
			return
		}
	}
	select {
	case <-dctx.Done():
	case <-e.ctx.Done():
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = bye(ctx)
		cancel()
	}
}

func reason(code int) string {
	switch code {
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 408:
		return "Request Timeout"
	}
	return "Error"
}
