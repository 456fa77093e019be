package media

import "testing"

func TestRTPPayload(t *testing.T) {
	hdr := func(b0 byte) []byte { return []byte{b0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3} }
	plain := append(hdr(0x80), 1, 2, 3)
	csrc := append(append(hdr(0x82), 9, 9, 9, 9, 8, 8, 8, 8), 1, 2, 3)
	ext := append(append(hdr(0x90), 0xbe, 0xde, 0, 1, 7, 7, 7, 7), 1, 2, 3)
	pad := append(hdr(0xa0), 1, 2, 3, 0, 0, 3)
	for name, tc := range map[string]struct {
		pkt        []byte
		start, end int
		ok         bool
	}{
		"plain": {plain, 12, 15, true}, "csrc": {csrc, 20, 23, true}, "extension": {ext, 20, 23, true}, "padding": {pad, 12, 15, true},
		"short":                  {hdr(0x80)[:11], 0, 0, false},
		"csrc beyond the packet": {hdr(0x8f), 0, 0, false},
		"extension cut":          {append(hdr(0x90), 0xbe), 0, 0, false},
		"extension too long":     {append(hdr(0x90), 0xbe, 0xde, 0, 9), 0, 0, false},
		"padding longer":         {append(hdr(0xa0), 1, 9), 0, 0, false},
		"padding zero":           {append(hdr(0xa0), 1, 0), 0, 0, false},
	} {
		s, e, ok := rtpPayload(tc.pkt)
		if ok != tc.ok || (ok && (s != tc.start || e != tc.end)) {
			t.Errorf("%s: %d %d %v, want %d %d %v", name, s, e, ok, tc.start, tc.end, tc.ok)
		}
	}
}

// FuzzRTPPayload: whatever the bytes, the payload bounds stay inside the
// packet and in order.
func FuzzRTPPayload(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2})
	f.Add([]byte{0xb3, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 1, 2})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s, e, ok := rtpPayload(pkt)
		if ok && (s < 12 || s > e || e > len(pkt)) {
			t.Fatalf("bounds %d..%d of %d", s, e, len(pkt))
		}
	})
}
