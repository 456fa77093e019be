package viptel

import "sync"

// wireCache keeps the encoded message of recent events: every logged-in
// connection of a tenant is sent the same bytes for an event, and
// encoding once instead of once per connection is most of the fan-out's
// cost. The bytes depend only on the event (tenant, sequence) and on
// whether extension names may be shown; VisibleEvent decides whether a
// connection gets them at all and changes nothing this dialect encodes.
type wireCache struct {
	mu    sync.Mutex
	m     map[wireKey][]byte
	order []wireKey
}

type wireKey struct {
	tenant string
	seq    uint64
	names  bool
}

// wireCacheSize bounds the cache: far more than any connection lags
// behind another before the bus cuts it.
const wireCacheSize = 4096

// get returns the cached bytes for k, encoding them with enc on a miss.
// An event with no VIPTel message is cached as an empty, non-nil slice.
func (c *wireCache) get(k wireKey, enc func() []byte) []byte {
	c.mu.Lock()
	b, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return b
	}
	b = enc()
	if b == nil {
		b = []byte{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[wireKey][]byte{}
	}
	if _, ok := c.m[k]; !ok {
		c.m[k] = b
		c.order = append(c.order, k)
		if len(c.order) > wireCacheSize {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	return b
}
