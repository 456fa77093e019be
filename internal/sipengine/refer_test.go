package sipengine

import "testing"

func TestReferTarget(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"<sip:1002@pbx.example>", "1002", true},
		{"sip:+421900123456@pbx.example;user=phone", "+421900123456", true},
		{`"Front desk" <sip:100@10.0.0.1:5060;transport=udp>`, "100", true},
		{"<sip:1002@pbx.example?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>", "", false},
		{"<sip:pbx.example>", "", false},
		{"<sip:alice@pbx.example>", "", false},
		{"<sip:1002@pbx.example", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		got, ok := referTarget(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q -> %q %v", tc.in, got, ok)
		}
	}
}

func FuzzReferTarget(f *testing.F) {
	f.Add("<sip:1002@pbx.example>")
	f.Add("sip:1@h;user=phone")
	f.Fuzz(func(t *testing.T, v string) {
		if n, ok := referTarget(v); ok && n == "" {
			t.Fatal("accepted an empty target")
		}
	})
}

func TestReferReplaces(t *testing.T) {
	got, ok := referReplaces("<sip:1002@pbx.example?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>")
	if !ok || got != (replacesRef{callID: "abc@host", toTag: "1", fromTag: "2"}) {
		t.Fatalf("%+v %v", got, ok)
	}
	for _, bad := range []string{"<sip:1002@pbx.example>", "<sip:1002@pbx.example?Replaces=abc%40host%3Bto-tag%3D1>", "<sip:1002@pbx.example?Replaces=%zz>", "<sip:1002@pbx"} {
		if _, ok := referReplaces(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
