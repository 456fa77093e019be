package node

import (
	"log/slog"
	"math"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
)

// buildSMS makes the outbox from every tenant's sms: block (validated at
// load): its driver, the sender and the retry schedule; the sip driver
// sends through the engine (sender); messages are priced by the rate
// table of the block's rate_trunk (default: the sip trunk).
func buildSMS(cfg *config.Config, st sms.Store, cdrs sms.CDRWriter, pub sms.Publisher, sender sms.MessageSender, log *slog.Logger) (*sms.Outbox, error) {
	tenants := map[string]sms.TenantConfig{}
	rates := map[string][]config.Rate{}
	for _, t := range cfg.Tenants {
		s := cfg.TenantSMS(t)
		if s == nil {
			continue
		}
		tc := sms.TenantConfig{From: s.From, MaxAttempts: s.MaxAttempts, RetryInitial: s.RetryInitial, RetryMax: s.RetryMax,
			ReportTimeout: s.ReportTimeout}
		rateTrunk := s.RateTrunk
		switch s.Driver {
		case "sim":
			tc.Driver = &sms.Sim{SendDelay: s.Sim.SendDelay, DeliverDelay: s.Sim.DeliverDelay, FailSuffixes: s.Sim.FailSuffixes,
				RejectSuffixes: s.Sim.RejectSuffixes, Cost: s.Sim.Cost}
		case "http":
			h := s.HTTP
			tc.Driver = &sms.HTTP{URL: h.URL, Method: h.Method, Body: h.Body, ContentType: h.ContentType, AuthHeader: h.AuthHeader,
				AuthValue: h.AuthValue, RefPath: h.RefPath, Timeout: h.Timeout}
			tc.CallbackSecret = h.CallbackSecret
		case "sip":
			tc.Driver = &sms.SIP{Sender: sender, Trunk: s.SIP.Trunk, Timeout: s.SIP.Timeout}
			if rateTrunk == "" {
				rateTrunk = s.SIP.Trunk
			}
		}
		tenants[t.Name] = tc
		for _, tr := range t.Trunks {
			if tr.Name == rateTrunk {
				rates[t.Name] = tr.Rates
			}
		}
	}
	return sms.New(sms.Options{Store: st, CDRs: cdrs, Publisher: pub, Tenants: tenants, Logger: log,
		Pricer: func(tenant, number string) (string, int64, bool) { return messagePrice(rates[tenant], number) }})
}

// messagePrice is the longest prefix's zone and per-message price (in
// grosze, rounded up); the number's leading + is ignored.
func messagePrice(rates []config.Rate, number string) (string, int64, bool) {
	number = strings.TrimPrefix(number, "+")
	best := -1
	for i, r := range rates {
		if strings.HasPrefix(number, r.Prefix) && (best < 0 || len(r.Prefix) > len(rates[best].Prefix)) {
			best = i
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return rates[best].Zone, int64(math.Ceil(rates[best].PerMessage - 1e-9)), true
}

var _ sms.Publisher = (*pbx.Core)(nil)
