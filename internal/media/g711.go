// Package media is the RTP layer of the B2BUA: one UDP socket per call leg
// from a draining port range, a relay that copies packets between two legs
// (symmetric RTP, payload-type mapping, G.711 transcoding), endpoint helpers
// that play tones and RFC 4733 digits, RFC 3550 statistics with an E-model
// MOS estimate, G.711 and SDP offer/answer. It imports no SIP package; the
// SIP engine and the demo bots use it.
package media

// Codec is an RTP audio payload format.
type Codec struct {
	PT        uint8
	Name      string
	ClockRate uint32
}

// The codecs switchboard speaks. G.711 covers every desk phone and carrier;
// anything else would need a transcoder that the relay does not pay for.
var (
	PCMU = Codec{PT: 0, Name: "PCMU", ClockRate: 8000}
	PCMA = Codec{PT: 8, Name: "PCMA", ClockRate: 8000}
)

// G.711 (ITU-T 1988) by the classic segment algorithm.

const (
	ulawBias = 0x84
	ulawClip = 32635
)

// EncodeUlaw compresses one 16-bit linear sample to mu-law.
func EncodeUlaw(s int16) byte {
	x := int(s)
	sign := 0
	if x < 0 {
		x = -x
		sign = 0x80
	}
	if x > ulawClip {
		x = ulawClip
	}
	x += ulawBias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// DecodeUlaw expands one mu-law byte to 16-bit linear.
func DecodeUlaw(b byte) int16 {
	b = ^b
	sign := b & 0x80
	exp := int(b>>4) & 0x07
	mant := int(b & 0x0f)
	x := ((mant << 3) + ulawBias) << exp
	x -= ulawBias
	if sign != 0 {
		return int16(-x)
	}
	return int16(x)
}

// EncodeAlaw compresses one 16-bit linear sample to A-law.
func EncodeAlaw(s int16) byte {
	x := int(s) >> 3 // A-law works on 13-bit magnitudes
	sign := byte(0x80)
	if x < 0 {
		x = -x - 1
		sign = 0
	}
	if x > 0xfff {
		x = 0xfff
	}
	var out byte
	if x < 32 {
		out = byte(x >> 1)
	} else {
		exp := 1
		for v := x >> 5; v > 1; v >>= 1 {
			exp++
		}
		out = byte(exp<<4) | byte((x>>exp)&0x0f)
	}
	return (out | sign) ^ 0x55
}

// DecodeAlaw expands one A-law byte to 16-bit linear.
func DecodeAlaw(b byte) int16 {
	b ^= 0x55
	sign := b & 0x80
	exp := int(b>>4) & 0x07
	mant := int(b & 0x0f)
	var x int
	if exp == 0 {
		x = (mant << 4) + 8
	} else {
		x = ((mant << 4) + 0x108) << (exp - 1)
	}
	if sign == 0 {
		return int16(-x)
	}
	return int16(x)
}

// transcode tables, built once per process from the functions above; they
// are immutable after init, so sharing them is not shared mutable state.
var ulawToAlaw, alawToUlaw [256]byte

func init() {
	for i := 0; i < 256; i++ {
		ulawToAlaw[i] = EncodeAlaw(DecodeUlaw(byte(i)))
		alawToUlaw[i] = EncodeUlaw(DecodeAlaw(byte(i)))
	}
}

func decoder(c Codec) func(byte) int16 {
	if c.PT == PCMA.PT {
		return DecodeAlaw
	}
	return DecodeUlaw
}

func encoder(c Codec) func(int16) byte {
	if c.PT == PCMA.PT {
		return EncodeAlaw
	}
	return EncodeUlaw
}
