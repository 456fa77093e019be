package voipmonitor

import (
	"context"
	"net"
	"strings"
	"time"
)

// dns_lookup=1 shows names instead of addresses in pcap2text's src and
// dst (srcip and dstip keep the addresses). Lookups are bounded so a slow
// resolver cannot stall the answer: at most maxLookups distinct
// addresses, all within lookupBudget; an address without a name (or
// past the budget) stays an address.
const (
	maxLookups   = 16
	lookupBudget = 2 * time.Second
)

// lookupNames resolves the rows' addresses to names.
func lookupNames(ctx context.Context, rows []briefRow) {
	ctx, cancel := context.WithTimeout(ctx, lookupBudget)
	defer cancel()
	names := map[string]string{}
	var r net.Resolver
	name := func(ip string) string {
		if n, ok := names[ip]; ok {
			return n
		}
		n := ip
		if len(names) < maxLookups && ctx.Err() == nil {
			if got, err := r.LookupAddr(ctx, ip); err == nil && len(got) > 0 {
				n = strings.TrimSuffix(got[0], ".")
			}
		}
		names[ip] = n
		return n
	}
	for i := range rows {
		rows[i].Src, rows[i].Dst = name(rows[i].SrcIP), name(rows[i].DstIP)
	}
}
