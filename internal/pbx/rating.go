package pbx

import (
	"math"
	"strings"
	"time"
)

// RateTable prices the calls that leave through one trunk: the longest
// prefix of the dialled number picks the rate; billed time is the billsec
// rounded up to whole increments. CloudPBX's CDR shows the zone and the
// cost in grosze.
type RateTable struct {
	// Increment is the billing step (default 60 s: per started minute).
	Increment time.Duration
	Rates     []Rate
}

// Rate is one prefix of a rate table.
type Rate struct {
	Prefix string
	Zone   string
	// PerMinute is the price of a minute in the currency's smallest unit
	// (grosze), fractions allowed.
	PerMinute float64
}

// DefaultBillingIncrement is a rate table's increment when none is set.
const DefaultBillingIncrement = time.Minute

// Price rates a call to number that talked billsec seconds: the zone of
// the longest matching prefix and the cost in the smallest unit, rounded
// up. ok is false when no prefix matches (no rate applies).
func (rt RateTable) Price(number string, billsec int) (zone string, cost int64, ok bool) {
	best := -1
	for i, r := range rt.Rates {
		if strings.HasPrefix(number, r.Prefix) && (best < 0 || len(r.Prefix) > len(rt.Rates[best].Prefix)) {
			best = i
		}
	}
	if best < 0 {
		return "", 0, false
	}
	r := rt.Rates[best]
	inc := rt.Increment
	if inc <= 0 {
		inc = DefaultBillingIncrement
	}
	if billsec <= 0 {
		return r.Zone, 0, true
	}
	talk := time.Duration(billsec) * time.Second
	steps := (talk + inc - 1) / inc
	billed := time.Duration(steps) * inc
	return r.Zone, int64(math.Ceil(billed.Minutes()*r.PerMinute - 1e-9)), true
}
