// Package webhook POSTs core events to configured URLs: signed with
// HMAC-SHA256, in order per hook, retried with exponential backoff, and —
// when a receiver stays down past the last attempt, or switchboard stops
// with deliveries pending — kept in a dead-letter list instead of lost.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/eventbus"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Hook is one configured receiver.
type Hook struct {
	Tenant string
	Name   string
	URL    string
	// Secret signs deliveries; it must be kept in clear (HMAC needs it),
	// so treat it as a password.
	Secret string
	// Events filters by type: exact names, or a prefix ending in "*"
	// ("call.*"); empty means every event.
	Events []string
}

func (h Hook) wants(t pbx.EventType) bool {
	if len(h.Events) == 0 {
		return true
	}
	for _, p := range h.Events {
		if p == string(t) || strings.HasSuffix(p, "*") && strings.HasPrefix(string(t), strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

// DeadLetter is a delivery that could not be made.
type DeadLetter struct {
	ID        int64     `json:"id"`
	Tenant    string    `json:"tenant"`
	Hook      string    `json:"hook"`
	URL       string    `json:"url"`
	Seq       uint64    `json:"seq"`
	Type      string    `json:"type"`
	Body      []byte    `json:"-"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	Time      time.Time `json:"time"`
}

// Store keeps dead letters.
type Store interface {
	InsertDeadLetter(ctx context.Context, d *DeadLetter) error
	DeadLetters(ctx context.Context, tenant string, limit int) ([]DeadLetter, error)
	TakeDeadLetter(ctx context.Context, tenant string, id int64) (DeadLetter, error)
}

// Options tune delivery.
type Options struct {
	// Encode renders an event as a hook receives it: the native API's
	// wire format (node passes native.EncodeEvent), so webhooks, the event
	// stream and the API agree. Without it a body carries seq, tenant and
	// type only.
	Encode     func(seq uint64, tenant string, e pbx.Event) []byte
	Attempts   int           // default 8
	FirstDelay time.Duration // default 1 s, doubling
	MaxDelay   time.Duration // default 60 s
	Timeout    time.Duration // per request, default 10 s
	QueueLen   int           // per hook, default 10000
	Client     *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// Dispatcher delivers events to hooks. Start it before the core publishes;
// Close after the core closed.
type Dispatcher struct {
	opts  Options
	store Store
	log   *slog.Logger
	sub   *eventbus.Subscription[pbx.Event]
	hooks []*worker
	wg    sync.WaitGroup
	stop  chan struct{}
}

type delivery struct {
	seq  uint64
	typ  string
	body []byte
	try  int
}

type worker struct {
	d    *Dispatcher
	hook Hook
	q    chan delivery
}

// Subscriber is what the dispatcher needs of the core.
type Subscriber interface {
	Subscribe(tenant string, buf int) *eventbus.Subscription[pbx.Event]
}

// Start subscribes to core and starts one worker per hook.
func Start(core Subscriber, hooks []Hook, st Store, opts Options) *Dispatcher {
	if opts.Attempts <= 0 {
		opts.Attempts = 8
	}
	if opts.FirstDelay <= 0 {
		opts.FirstDelay = time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 10000
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.Timeout}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Encode == nil {
		opts.Encode = minimalBody
	}
	d := &Dispatcher{opts: opts, store: st, log: opts.Logger.With("component", "webhook"), stop: make(chan struct{})}
	for _, h := range hooks {
		w := &worker{d: d, hook: h, q: make(chan delivery, opts.QueueLen)}
		d.hooks = append(d.hooks, w)
		d.wg.Add(1)
		go w.run()
	}
	d.sub = core.Subscribe("", 1<<14)
	d.wg.Add(1)
	go d.fanOut()
	return d
}

func (d *Dispatcher) fanOut() {
	defer d.wg.Done()
	defer func() {
		for _, w := range d.hooks {
			close(w.q)
		}
	}()
	for env := range d.sub.C() {
		var body []byte
		for _, w := range d.hooks {
			if w.hook.Tenant != env.Tenant || !w.hook.wants(env.Event.Type) {
				continue
			}
			if body == nil {
				body = d.opts.Encode(env.Seq, env.Tenant, env.Event)
			}
			dl := delivery{seq: env.Seq, typ: string(env.Event.Type), body: body}
			select {
			case w.q <- dl:
			default:
				w.dead(dl, "queue full: the receiver is too far behind")
			}
		}
	}
	if err := d.sub.Err(); errors.Is(err, eventbus.ErrSlowConsumer) {
		d.log.Error("webhook dispatcher fell behind the core; events were not delivered", "err", err)
	}
}

// minimalBody is the body without an encoder: enough to fetch the rest.
func minimalBody(seq uint64, tenant string, e pbx.Event) []byte {
	b, _ := json.Marshal(struct {
		Seq    uint64 `json:"seq"`
		Tenant string `json:"tenant"`
		Type   string `json:"type"`
	}{seq, tenant, string(e.Type)})
	return b
}

// Sign computes the X-Switchboard-Signature header value for body sent at
// t: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
// Including the time lets receivers refuse replays of old deliveries.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body, for receivers written
// in Go (and for our tests); tolerance bounds the age of t.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return false
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, t, body)), []byte("t="+ts+",v1="+sig))
}

func (w *worker) run() {
	defer w.d.wg.Done()
	for dl := range w.q {
		w.deliver(dl)
	}
}

// deliver tries until success, the last attempt, or shutdown.
func (w *worker) deliver(dl delivery) {
	d := w.d
	delay := d.opts.FirstDelay
	var lastErr string
	for dl.try < d.opts.Attempts {
		dl.try++
		err := w.post(dl)
		if err == nil {
			return
		}
		lastErr = err.Error()
		d.log.Warn("webhook delivery failed", "hook", w.hook.Name, "seq", dl.seq, "attempt", dl.try, "err", err)
		if dl.try == d.opts.Attempts {
			break
		}
		select {
		case <-time.After(delay):
		case <-d.stop:
			w.dead(dl, "switchboard stopped before delivery: "+lastErr)
			w.drainDead("switchboard stopped before delivery")
			return
		}
		delay = min(2*delay, d.opts.MaxDelay)
	}
	w.dead(dl, lastErr)
}

func (w *worker) post(dl delivery) error {
	d := w.d
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.hook.URL, bytes.NewReader(dl.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "switchboard-webhook")
	req.Header.Set("X-Switchboard-Event", dl.typ)
	req.Header.Set("X-Switchboard-Delivery", fmt.Sprintf("%s-%d", w.hook.Tenant, dl.seq))
	req.Header.Set("X-Switchboard-Signature", Sign(w.hook.Secret, d.opts.Now(), dl.body))
	res, err := d.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", res.Status)
	}
	return nil
}

// drainDead dead-letters whatever is still queued (shutdown).
func (w *worker) drainDead(why string) {
	for dl := range w.q {
		w.dead(dl, why)
	}
}

func (w *worker) dead(dl delivery, why string) {
	d := w.d
	x := &DeadLetter{Tenant: w.hook.Tenant, Hook: w.hook.Name, URL: w.hook.URL, Seq: dl.seq, Type: dl.typ, Body: dl.body,
		Attempts: dl.try, LastError: why, Time: d.opts.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d.store == nil {
		d.log.Error("webhook delivery lost (no dead-letter store)", "hook", w.hook.Name, "seq", dl.seq)
		return
	}
	if err := d.store.InsertDeadLetter(ctx, x); err != nil {
		d.log.Error("webhook dead letter not stored", "hook", w.hook.Name, "seq", dl.seq, "err", err)
	}
}

// Retry takes a dead letter out of the list and queues it again.
func (d *Dispatcher) Retry(ctx context.Context, tenant string, id int64) error {
	x, err := d.store.TakeDeadLetter(ctx, tenant, id)
	if err != nil {
		return err
	}
	for _, w := range d.hooks {
		if w.hook.Tenant == tenant && w.hook.Name == x.Hook {
			select {
			case w.q <- delivery{seq: x.Seq, typ: x.Type, body: x.Body}:
				return nil
			default:
				w.dead(delivery{seq: x.Seq, typ: x.Type, body: x.Body, try: x.Attempts}, "queue full on retry")
				return fmt.Errorf("webhook %s: queue full: %w", x.Hook, pbx.ErrBusy)
			}
		}
	}
	_ = d.store.InsertDeadLetter(ctx, &x) // the hook is gone from the config: keep it listed
	return fmt.Errorf("webhook %q is no longer configured: %w", x.Hook, pbx.ErrNotFound)
}

// DeadLetters lists a tenant's dead letters, newest first.
func (d *Dispatcher) DeadLetters(ctx context.Context, tenant string, limit int) ([]DeadLetter, error) {
	return d.store.DeadLetters(ctx, tenant, limit)
}

// Close stops delivering once the core's bus has closed: deliveries in a
// backoff wait and those still queued become dead letters.
func (d *Dispatcher) Close() {
	close(d.stop)
	d.sub.Close()
	d.wg.Wait()
}

// NewSecret makes a random signing secret for operators who need one.
func NewSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + hex.EncodeToString(b[:])
}
