package sipengine

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// racingAgent is a raw UDP phone that answers an INVITE exactly when its
// CANCEL arrives: the 200 OK crosses the CANCEL, as when two agents of a
// ringall queue pick up in the same millisecond. cancelCode is its answer
// to the CANCEL: 200 (the 200 OK of the INVITE follows it) or 481 (the
// phone answered first and no longer knows the INVITE transaction; the
// 200 OK goes out before the 481). It retransmits the 200 OK until ACKed,
// as RFC 3261 §13.3.1.4 wants, for up to 32 s.
type racingAgent struct {
	t          *testing.T
	conn       *net.UDPConn
	cancelCode int
	acked      chan struct{}
	byed       chan struct{}
	okSent     chan struct{}
	wg         sync.WaitGroup
	mu         sync.Mutex
	okRetrans  int
}

func newRacingAgent(t *testing.T, cancelCode int) *racingAgent {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := &racingAgent{t: t, conn: conn, cancelCode: cancelCode, acked: make(chan struct{}), byed: make(chan struct{}), okSent: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	a.wg.Add(1)
	go func() { defer a.wg.Done(); a.serve(ctx) }()
	t.Cleanup(func() { cancel(); conn.Close(); a.wg.Wait() })
	return a
}

func (a *racingAgent) port() int { return a.conn.LocalAddr().(*net.UDPAddr).Port }

func (a *racingAgent) serve(ctx context.Context) {
	buf := make([]byte, 65535)
	var invite *sip.Request
	var ok *sip.Response
	var ackOnce, byeOnce, okOnce sync.Once
	for {
		n, from, err := a.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		req, isReq := msg.(*sip.Request)
		if !isReq {
			continue
		}
		send := func(m sip.Message) { _, _ = a.conn.WriteToUDP([]byte(m.String()), from) }
		switch req.Method {
		case sip.INVITE:
			invite = req
			ringing := sip.NewResponseFromRequest(req, 180, "Ringing", nil)
			ringing.To().Params.Add("tag", "agent102")
			send(ringing)
		case sip.CANCEL:
			if invite == nil {
				continue
			}
			ok = sip.NewResponseFromRequest(invite, 200, "OK", []byte(fmt.Sprintf(
				"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", a.port()+2)))
			ok.To().Params.Add("tag", "agent102")
			ok.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "102", Host: "127.0.0.1", Port: a.port()}})
			ok.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			cres := sip.NewResponseFromRequest(req, a.cancelCode, "x", nil)
			if a.cancelCode == 200 {
				send(cres)
				send(ok)
			} else {
				send(ok)
				send(cres)
			}
			okOnce.Do(func() { close(a.okSent) })
			okMsg, dst := ok, from
			a.wg.Add(1)
			go func() { // retransmit until ACKed, 500 ms, 1 s, 2 s, 4 s, 4 s...
				defer a.wg.Done()
				d := 500 * time.Millisecond
				deadline := time.After(32 * time.Second)
				for {
					select {
					case <-a.acked:
						return
					case <-ctx.Done():
						return
					case <-deadline:
						return
					case <-time.After(d):
						a.mu.Lock()
						a.okRetrans++
						a.mu.Unlock()
						_, _ = a.conn.WriteToUDP([]byte(okMsg.String()), dst)
						d = min(2*d, 4*time.Second)
					}
				}
			}()
		case sip.ACK:
			ackOnce.Do(func() { close(a.acked) })
		case sip.BYE:
			send(sip.NewResponseFromRequest(req, 200, "OK", nil))
			byeOnce.Do(func() { close(a.byed) })
		}
	}
}

// TestRingallLateAnswerIsReleased: a ringall queue rings 101 (a bot that
// answers) and 102, whose 200 OK crosses our CANCEL. switchboard must ACK
// that 200 OK and then BYE it (RFC 3261 §9.1, §15), never leave it
// retransmitting (issue 10 item 6), and the caller stays with 101.
func TestRingallLateAnswerIsReleased(t *testing.T) {
	for _, cancelCode := range []int{200, 481} {
		t.Run(fmt.Sprintf("CANCEL answered %d", cancelCode), func(t *testing.T) {
			r := newRigWith(t, 5*time.Second, pbx.Options{}, withQueue(pbx.QueueEntry{Name: "Q", Number: "7000", Strategy: pbx.StrategyRingAll,
				Members: []pbx.QueueMemberEntry{{Number: "101"}, {Number: "102"}}, RingTimeout: 5 * time.Second}))
			agent := newRacingAgent(t, cancelCode)
			r.eng.reg.set("t", "102", &binding{contact: sip.Uri{Scheme: "sip", User: "102", Host: "127.0.0.1", Port: agent.port()},
				source: fmt.Sprintf("127.0.0.1:%d", agent.port()), transport: "udp", expires: time.Now().Add(time.Hour)})
			r.phones(t, 300*time.Millisecond, "101")
			callers := r.phones(t, 100*time.Millisecond, "100")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res := make(chan string, 1)
			go func() {
				cr, err := callers.Call(ctx, "100", "7000", 3*time.Second)
				res <- fmt.Sprintf("%v %v %v", cr.Answered, cr.Frequency, err)
			}()
			select {
			case <-agent.okSent:
			case <-ctx.Done():
				t.Fatal("102 was never cancelled")
			}
			for what, ch := range map[string]chan struct{}{"ACK": agent.acked, "BYE": agent.byed} {
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
					agent.mu.Lock()
					n := agent.okRetrans
					agent.mu.Unlock()
					t.Fatalf("no %s for 102's 200 OK within 5 s (%d retransmissions so far)", what, n)
				}
			}
			if got := <-res; !strings.HasPrefix(got, "true 440") {
				t.Fatalf("caller: %s", got)
			}
			// (The CDR's dstchannel names the last channel rung, 102, not
			// the agent who answered: a separate, older limitation.)
			if c := r.waitEnded(t); c.Disposition != pbx.DispAnswered {
				t.Fatalf("cdr %+v", c)
			}
		})
	}
}
