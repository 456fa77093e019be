package pbx

// QualityAlarm is a leg's audio crossing a quality threshold (Raised) or
// coming back (not Raised), measured by the engine over a sliding window
// of what the channel's party sends: Kind is "mos", "loss", "jitter" or
// "one_way" (no audio for a while); Value is the window's figure (MOS,
// loss fraction, jitter ms, seconds silent) and Threshold the tenant's.
type QualityAlarm struct {
	Kind      string
	Raised    bool
	Value     float64
	Threshold float64
}

// QualityChanged publishes call.quality for ch: alarms go to API clients,
// webhooks, the event log (and so the call's dossier) and the metrics.
func (c *Core) QualityChanged(ch *Channel, a QualityAlarm) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[ch.Tenant]
	if t == nil {
		return
	}
	live := t.channels[ch.UniqueID]
	if live == nil {
		return
	}
	snap := *live
	c.publishLocked(t.name, Event{Type: EvCallQuality, Channel: &snap, Quality: &a})
}
