package media

import "testing"

func TestG711KnownValues(t *testing.T) {
	cases := []struct {
		name string
		got  any
		want any
	}{
		{"ulaw 0", EncodeUlaw(0), byte(0xff)},
		{"ulaw decode 0xff", DecodeUlaw(0xff), int16(0)},
		{"ulaw max", EncodeUlaw(32767), byte(0x80)},
		{"ulaw min", EncodeUlaw(-32768), byte(0x00)},
		{"alaw 0", EncodeAlaw(0), byte(0xd5)},
		{"alaw decode 0xd5", DecodeAlaw(0xd5), int16(8)},
		{"alaw max", EncodeAlaw(32767), byte(0xaa)},
		{"alaw min", EncodeAlaw(-32768), byte(0x2a)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestG711RoundTripWithinQuantisation(t *testing.T) {
	for s := -32768; s <= 32767; s += 7 {
		for _, c := range []struct {
			name string
			enc  func(int16) byte
			dec  func(byte) int16
		}{{"ulaw", EncodeUlaw, DecodeUlaw}, {"alaw", EncodeAlaw, DecodeAlaw}} {
			got := int(c.dec(c.enc(int16(s))))
			diff := got - s
			if diff < 0 {
				diff = -diff
			}
			// The step grows with magnitude: at most 1/16 of the value plus the smallest step.
			limit := abs(s)/16 + 16
			if diff > limit {
				t.Fatalf("%s: %d -> %d (error %d > %d)", c.name, s, got, diff, limit)
			}
		}
	}
	for i := 0; i < 256; i++ {
		if EncodeUlaw(DecodeUlaw(byte(i))) != byte(i) && byte(i) != 0x7f {
			t.Fatalf("ulaw byte %#x does not survive decode/encode", i)
		}
		if EncodeAlaw(DecodeAlaw(byte(i))) != byte(i) {
			t.Fatalf("alaw byte %#x does not survive decode/encode", i)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
