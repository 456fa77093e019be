package sipengine

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestTCPOnlyPhoneDialogs: a phone with no UDP socket at all calls and is
// called. Every Contact switchboard gives it must send the phone's ACK and
// BYE back over TCP; the calls are answered in the CDR and the phone's BYE
// ends them (issue 10 item 1: the old Contact meant UDP, so a TCP-only
// linphone could neither ACK nor hang up).
func TestTCPOnlyPhoneDialogs(t *testing.T) {
	r := newRig(t, 5*time.Second)
	f := r.phones(t, 100*time.Millisecond, "101")
	p := newTestPhone(t, r, "100", "tcp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("phone calls", func(t *testing.T) {
		pc, err := p.dial(ctx, "101")
		if err != nil {
			t.Fatal(err)
		}
		r.waitEvent(t, pbx.EvCallAnswered)
		time.Sleep(300 * time.Millisecond)
		if err := p.hangup(pc); err != nil {
			t.Fatalf("BYE over TCP: %v", err)
		}
		c := r.waitEnded(t)
		if c.Disposition != pbx.DispAnswered || c.HangupBy != "caller" || c.BillSec < 0 {
			t.Fatalf("cdr %+v", c)
		}
		if c.RTPPacketsBA == 0 {
			t.Fatalf("the phone heard nothing: %+v", c)
		}
	})
	t.Run("phone is called", func(t *testing.T) {
		go f.Call(ctx, "101", "100", 10*time.Second)
		var pc *phoneCall
		select {
		case pc = <-p.inbound:
		case <-ctx.Done():
			t.Fatal("phone never answered")
		}
		r.waitEvent(t, pbx.EvCallAnswered)
		time.Sleep(300 * time.Millisecond)
		if err := p.hangup(pc); err != nil {
			t.Fatalf("BYE over TCP: %v", err)
		}
		c := r.waitEnded(t)
		if c.Disposition != pbx.DispAnswered || c.HangupBy != "callee" {
			t.Fatalf("cdr %+v", c)
		}
	})
	t.Run("switchboard hangs up", func(t *testing.T) {
		pc, err := p.dial(ctx, "101")
		if err != nil {
			t.Fatal(err)
		}
		ev := r.waitEvent(t, pbx.EvCallAnswered)
		if err := r.core.Hangup(ctx, "t", ev.Call.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case <-pc.ctx().Done(): // our BYE reached the phone over TCP
		case <-time.After(5 * time.Second):
			t.Fatal("the TCP phone never got our BYE")
		}
		if c := r.waitEnded(t); c.Disposition != pbx.DispAnswered || c.HangupBy != "api" {
			t.Fatalf("cdr %+v", c)
		}
	})
}

// TestTLSPhoneDialogContact: over TLS the Contact of our 200 OK names the
// TLS port with transport=tls, so the phone's ACK and BYE reach the TLS
// listener (issue 10 item 1, TLS form).
func TestTLSPhoneDialogContact(t *testing.T) {
	cert, pool := testCert(t)
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) {
		c.TLSListen = "127.0.0.1:0"
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	r.phones(t, 100*time.Millisecond, "101")
	p := newTestPhoneTLS(t, r, "100", "tls", &cert, pool)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := p.dial(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	ct := pc.cli.InviteResponse.Contact()
	if ct.Address.Port != int(r.eng.TLSAddr().Port()) {
		t.Fatalf("200 OK Contact %s does not name the TLS port %d", ct.Address.String(), r.eng.TLSAddr().Port())
	}
	r.waitEvent(t, pbx.EvCallAnswered)
	time.Sleep(200 * time.Millisecond)
	if err := p.hangup(pc); err != nil {
		t.Fatalf("BYE over TLS: %v", err)
	}
	if c := r.waitEnded(t); c.Disposition != pbx.DispAnswered || c.HangupBy != "caller" {
		t.Fatalf("cdr %+v", c)
	}
}
