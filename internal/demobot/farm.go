package demobot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// FarmConfig configures the bot phones.
type FarmConfig struct {
	PBX            netip.AddrPort // the PBX's SIP address (UDP)
	Domain         string         // tenant SIP domain: realm and URI host
	ListenIP       netip.Addr
	Ports          *media.PortAllocator
	AnswerDelay    time.Duration // default 1 s
	ToneHz         float64       // default 440
	RegisterExpiry time.Duration // default 300 s
	Logger         *slog.Logger
}

// Farm is a set of bot phones sharing one SIP socket; each registers with
// its own credentials.
type Farm struct {
	cfg  FarmConfig
	ep   *endpoint
	bots map[string]string // number -> password
	mu   sync.Mutex
}

// NewFarm builds the farm; bots are added with Add before Start.
func NewFarm(cfg FarmConfig) (*Farm, error) {
	if cfg.AnswerDelay == 0 {
		cfg.AnswerDelay = time.Second
	}
	if cfg.ToneHz == 0 {
		cfg.ToneHz = 440
	}
	if cfg.RegisterExpiry == 0 {
		cfg.RegisterExpiry = 300 * time.Second
	}
	ep, err := newEndpoint(cfg.ListenIP, cfg.Ports, "bot", cfg.Logger)
	if err != nil {
		return nil, err
	}
	f := &Farm{cfg: cfg, ep: ep, bots: map[string]string{}}
	ep.policy = func(number string) (int, time.Duration, float64) {
		f.mu.Lock()
		_, ok := f.bots[number]
		f.mu.Unlock()
		if !ok {
			return 404, 0, 0
		}
		return 0, cfg.AnswerDelay, cfg.ToneHz
	}
	return f, nil
}

// Add registers a bot to be started.
func (f *Farm) Add(number, password string) {
	f.mu.Lock()
	f.bots[number] = password
	f.mu.Unlock()
}

// Addr is the farm's SIP address.
func (f *Farm) Addr() netip.AddrPort { return f.ep.addr }

// OnHear hands over the audio every bot hears in its calls (tests listen
// with it); cb runs on the media path and must not block or keep pcm.
func (f *Farm) OnHear(cb func(bot string, pcm []int16)) {
	f.ep.mu.Lock()
	f.ep.onHear = cb
	f.ep.mu.Unlock()
}

// OnDTMF reports digits received by any bot.
func (f *Farm) OnDTMF(cb func(bot string, digit rune)) {
	f.ep.mu.Lock()
	f.ep.onDTMF = cb
	f.ep.mu.Unlock()
}

// ActiveCalls is the number of calls the bots are in.
func (f *Farm) ActiveCalls() int { return f.ep.active() }

// Start serves SIP and registers every bot; it fails naming the bots that
// could not register.
func (f *Farm) Start(ctx context.Context) error {
	f.ep.serve()
	numbers := f.numbers()
	errs := make([]error, len(numbers))
	var wg sync.WaitGroup
	for i, n := range numbers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.register(ctx, n, f.cfg.RegisterExpiry)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	f.ep.wg.Add(1)
	go func() {
		defer f.ep.wg.Done()
		t := time.NewTicker(f.cfg.RegisterExpiry / 2)
		defer t.Stop()
		for {
			select {
			case <-f.ep.ctx.Done():
				return
			case <-t.C:
				for _, n := range f.numbers() {
					if err := f.register(f.ep.ctx, n, f.cfg.RegisterExpiry); err != nil {
						f.ep.log.Warn("re-register failed", "bot", n, "err", err)
					}
				}
			}
		}
	}()
	return nil
}

func (f *Farm) numbers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.bots))
	for n := range f.bots {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (f *Farm) register(ctx context.Context, number string, expiry time.Duration) error {
	f.mu.Lock()
	pw := f.bots[number]
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	uri := sip.Uri{Scheme: "sip", User: number, Host: f.cfg.Domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: f.cfg.Domain})
	req.SetDestination(f.cfg.PBX.String())
	req.AppendHeader(&sip.FromHeader{Address: uri, Params: tagParams()})
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: f.ep.addr.Addr().String(), Port: int(f.ep.addr.Port())}})
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(int(expiry.Seconds()))))
	res, err := f.ep.client.Do(ctx, req)
	for i := 0; err != nil && strings.Contains(err.Error(), "address already in use") && i < 100; i++ {
		// sipgo registers the listening socket for sending only once its
		// serve loop runs; until then a request would try to bind anew.
		time.Sleep(10 * time.Millisecond)
		res, err = f.ep.client.Do(ctx, req.Clone())
	}
	if err != nil {
		return fmt.Errorf("bot %s: register: %w", number, err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = f.ep.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: number, Password: pw})
		if err != nil {
			return fmt.Errorf("bot %s: register: %w", number, err)
		}
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("bot %s: register refused: %d %s", number, res.StatusCode, res.Reason)
	}
	return nil
}

// Close hangs up, unregisters and stops everything.
func (f *Farm) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range f.numbers() {
		wg.Add(1)
		go func() { defer wg.Done(); _ = f.register(ctx, n, 0) }()
	}
	wg.Wait()
	return f.ep.close()
}

// CallResult is what a bot's outgoing call saw.
type CallResult struct {
	Status    int // final SIP status
	Answered  bool
	Packets   uint64  // RTP packets received
	Frequency float64 // dominant frequency of the received audio
	Digits    string  // DTMF received
	Audio     []int16 // what the bot heard, with CallOptions.KeepAudio
}

// CallOptions refine Call.
type CallOptions struct {
	// SendDigits are played as RFC 4733 once the call is up.
	SendDigits string
	// Candidates for the frequency check (default 350, 425, 440, 1000 Hz).
	Candidates []float64
	// KeepAudio returns what the bot heard (up to 30 s) in CallResult.Audio.
	KeepAudio bool
}

// Call makes bot from call to through the PBX and hangs up after hold.
func (f *Farm) Call(ctx context.Context, from, to string, hold time.Duration) (CallResult, error) {
	return f.CallWith(ctx, from, to, hold, CallOptions{})
}

// CallWith is Call with options.
func (f *Farm) CallWith(ctx context.Context, from, to string, hold time.Duration, opts CallOptions) (CallResult, error) {
	f.mu.Lock()
	pw, ok := f.bots[from]
	f.mu.Unlock()
	if !ok {
		return CallResult{}, fmt.Errorf("demobot: no bot %s", from)
	}
	leg, err := f.ep.ports.NewLeg()
	if err != nil {
		return CallResult{}, err
	}
	defer leg.Close()
	offer := media.BuildSDP(media.SessionDesc{Addr: leg.LocalAddr(), Codecs: []media.Codec{media.PCMU, media.PCMA}, DTMFPT: 101, Direction: "sendrecv"}, rand.Uint64N(1<<62), 1)
	// The Request-URI names the PBX by address: sipgo builds a CANCEL from
	// it and would otherwise try to resolve the domain.
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: to, Host: f.cfg.PBX.Addr().String(), Port: int(f.cfg.PBX.Port())})
	req.SetBody(offer)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	fromURI := sip.Uri{Scheme: "sip", User: from, Host: f.cfg.Domain}
	req.AppendHeader(&sip.FromHeader{Address: fromURI, Params: tagParams()})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: to, Host: f.cfg.Domain}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: f.ep.addr.Addr().String(), Port: int(f.ep.addr.Port())}})
	callID := uuid.NewString()
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	d := &dialog{number: from}
	if !f.ep.track(callID, d) {
		return CallResult{}, errors.New("demobot: closing")
	}
	defer f.ep.untrack(callID)

	cs, err := f.ep.dua.WriteInvite(context.WithoutCancel(ctx), req) // CANCEL needs the transaction to outlive ctx
	if err != nil {
		return CallResult{}, fmt.Errorf("demobot: invite: %w", err)
	}
	defer cs.Close()
	f.ep.mu.Lock()
	d.cli = cs
	f.ep.mu.Unlock()
	err = cs.WaitAnswer(ctx, sipgo.AnswerOptions{Username: from, Password: pw})
	var res CallResult
	var dr *sipgo.ErrDialogResponse
	if errors.As(err, &dr) {
		res.Status = dr.Res.StatusCode
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("demobot: call %s -> %s: %w", from, to, err)
	}
	res.Status, res.Answered = cs.InviteResponse.StatusCode, true
	_ = cs.Ack(ctx)
	answer, err := media.ParseSDP(cs.InviteResponse.Body())
	if err != nil {
		byeCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = cs.Bye(byeCtx)
		cancel()
		return res, fmt.Errorf("demobot: answer sdp: %w", err)
	}
	codec, _ := media.Negotiate(answer, []media.Codec{media.PCMU, media.PCMA})
	leg.SetRemote(answer.Addr, codec, answer.DTMFPT)
	var pcmMu sync.Mutex
	var pcm []int16
	leg.OnAudio(func(p []int16) {
		pcmMu.Lock()
		if len(pcm) < 8000*30 {
			pcm = append(pcm, p...)
		}
		pcmMu.Unlock()
	})
	holdCtx, cancel := context.WithTimeout(ctx, hold)
	defer cancel()
	if opts.SendDigits != "" {
		f.ep.wg.Add(1)
		go func() {
			defer f.ep.wg.Done()
			time.Sleep(200 * time.Millisecond)
			_ = leg.SendDTMF(holdCtx, opts.SendDigits, 80*time.Millisecond)
		}()
	}
	f.ep.talk(mergeDone(holdCtx, cs.Context()), leg, d, f.cfg.ToneHz, nil, cs.Bye)
	if cs.Context().Err() == nil { // we hang up
		byeCtx, c2 := context.WithTimeout(context.Background(), 3*time.Second)
		_ = cs.Bye(byeCtx)
		c2()
	}
	res.Packets = leg.Stats().PacketsRecv
	cands := opts.Candidates
	if len(cands) == 0 {
		cands = []float64{350, 425, 440, 1000}
	}
	pcmMu.Lock()
	if len(pcm) > 0 {
		res.Frequency = media.DominantFrequency(pcm, 8000, cands)
	}
	if opts.KeepAudio {
		res.Audio = pcm
	}
	pcmMu.Unlock()
	f.ep.mu.Lock()
	res.Digits = string(d.digits)
	f.ep.mu.Unlock()
	return res, nil
}

// mergeDone returns a context done when either is.
func mergeDone(a, b context.Context) context.Context {
	ctx, cancel := context.WithCancel(a)
	go func() {
		select {
		case <-b.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx
}

// RandomTraffic places random calls between bots until ctx ends.
func (f *Farm) RandomTraffic(ctx context.Context, perMinute float64, minHold, maxHold time.Duration) {
	if perMinute <= 0 {
		return
	}
	numbers := f.numbers()
	if len(numbers) < 2 {
		return
	}
	interval := time.Duration(float64(time.Minute) / perMinute)
	t := time.NewTicker(interval)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a := numbers[rand.IntN(len(numbers))]
		b := numbers[rand.IntN(len(numbers))]
		if a == b {
			continue
		}
		hold := minHold
		if maxHold > minHold {
			hold += time.Duration(rand.Int64N(int64(maxHold - minHold)))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Call(ctx, a, b, hold); err != nil && ctx.Err() == nil && !strings.Contains(err.Error(), "closing") {
				f.ep.log.Debug("demo call failed", "from", a, "to", b, "err", err)
			}
		}()
	}
}

func tagParams() sip.HeaderParams {
	p := sip.NewParams()
	p.Add("tag", uuid.NewString()[:8])
	return p
}
