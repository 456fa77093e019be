package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/webhook"
)

// TestWebhookDeadLetterThroughTheAPI: a configured hook whose receiver is
// down ends in the dead-letter list; listed and retried over HTTP, it is
// delivered, signed, once the receiver is back.
func TestWebhookDeadLetterThroughTheAPI(t *testing.T) {
	var mu sync.Mutex
	up, delivered, badSig := false, 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !webhook.Verify("0123456789abcdef", r.Header.Get("X-Switchboard-Signature"), body, time.Now(), time.Minute) {
			badSig++
		}
		if !up {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		if strings.Contains(string(body), `"type":"queue.member.paused"`) {
			delivered++
		}
	}))
	defer srv.Close()
	n := startDemoWith(t, Options{WebhookAttempts: 2, WebhookFirstDelay: 50 * time.Millisecond}, func(c *config.Config) {
		c.Tenants[0].Webhooks = []config.Webhook{{Name: "crm", URL: srv.URL, Secret: "0123456789abcdef", Events: []string{"queue.member.paused"}}}
	})
	base := "http://" + n.HTTPAddr().String()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth("admin", "admin")
		return roundTrip(t, req)
	}
	if code, body := do("POST", "/api/v1/queues/VMX/members/1002/pause", `{"paused":true}`); code != 200 {
		t.Fatalf("pause: %d %s", code, body)
	}
	var page struct {
		DeadLetters []struct {
			ID       int64  `json:"id"`
			Hook     string `json:"hook"`
			Type     string `json:"type"`
			Attempts int    `json:"attempts"`
		} `json:"dead_letters"`
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		code, body := do("GET", "/api/v1/webhooks/dead", "")
		if code != 200 {
			t.Fatalf("dead letters: %d %s", code, body)
		}
		page.DeadLetters = nil
		_ = json.Unmarshal([]byte(body), &page)
		if len(page.DeadLetters) > 0 {
			break
		}
	}
	if len(page.DeadLetters) != 1 || page.DeadLetters[0].Hook != "crm" || page.DeadLetters[0].Type != "queue.member.paused" || page.DeadLetters[0].Attempts != 2 {
		t.Fatalf("dead letters %+v", page)
	}
	mu.Lock()
	up = true
	mu.Unlock()
	if code, body := do("POST", fmt.Sprintf("/api/v1/webhooks/dead/%d/retry", page.DeadLetters[0].ID), ""); code != 202 {
		t.Fatalf("retry: %d %s", code, body)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		d := delivered
		mu.Unlock()
		if d == 1 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if delivered != 1 || badSig != 0 {
		t.Fatalf("delivered %d, bad signatures %d", delivered, badSig)
	}
	if code, _ := do("POST", "/api/v1/webhooks/dead/424242/retry", ""); code != 404 {
		t.Fatalf("retry of a missing dead letter: %d", code)
	}
}
