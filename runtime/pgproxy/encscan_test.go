package pgproxy

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/mandatehq/mandate/masking"
	"github.com/mandatehq/mandate/model"
)

func TestNumericText(t *testing.T) {
	num := func(weight int16, sign uint16, digits ...uint16) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(len(digits)))
		b = binary.BigEndian.AppendUint16(b, uint16(weight))
		b = binary.BigEndian.AppendUint16(b, sign)
		b = binary.BigEndian.AppendUint16(b, 0)
		for _, d := range digits {
			b = binary.BigEndian.AppendUint16(b, d)
		}
		return b
	}
	tests := []struct {
		in   []byte
		want string
	}{
		{num(3, 0, 4111, 1111, 1111, 1111), "4111111111111111"},
		{num(3, 0x4000, 4111, 1111, 1111, 1111, 2500), "-4111111111111111.2500"},
		{num(4, 0, 12), "120000000000000000"},
		{num(-1, 0, 5), "0.0005"},
		{num(0, 0), "0"},
		{num(-2, 0, 5), "0.00000005"},
		// Zero groups the digits do not cover are cut to the last few: a
		// 10-byte numeric of weight 32767 prints 131,072 digits.
		{num(32767, 0, 4111), "4111" + strings.Repeat("0000", maxZeroGroups)},
		{num(32767, 0, 4111, 1111, 1111, 1111), "4111111111111111" + strings.Repeat("0000", maxZeroGroups)},
		{num(-32768, 0, 4111, 1111, 1111, 1111), "0." + strings.Repeat("0000", maxZeroGroups) + "4111111111111111"},
		{num(maxZeroGroups, 0, 4111), "4111" + strings.Repeat("0000", maxZeroGroups)},
		{num(maxZeroGroups+2, 0, 4111), "4111" + strings.Repeat("0000", maxZeroGroups)},
		{num(-maxZeroGroups-1, 0, 5), "0." + strings.Repeat("0000", maxZeroGroups) + "0005"},
		{num(-maxZeroGroups-3, 0, 5), "0." + strings.Repeat("0000", maxZeroGroups) + "0005"},
	}
	for _, tc := range tests {
		if got, ok := numericText(tc.in); !ok || got != tc.want {
			t.Errorf("numericText = %q %v, want %q", got, ok, tc.want)
		}
	}
	if _, ok := numericText([]byte{0, 2, 0, 0}); ok {
		t.Error("numericText accepted a short value")
	}
	if _, ok := numericText(num(0, 0, 10000)); ok {
		t.Error("numericText accepted a digit over 9999")
	}
}

func TestEncodedFinds(t *testing.T) {
	rs, err := masking.CompileRules([]*model.DetectorRule{{Detector: "credit_card", Name: "cc", Method: "redact"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := masking.NewScanner(rs...)
	be32 := func(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
	card := []byte("4111111111111111")
	// A one-element text array whose length byte is 'C' (67): the raw
	// bytes glue the card to a letter.
	elem := append(card, []byte(" padding padding padding padding padding padding pa")...)
	arr := be32(be32(be32(be32(be32(nil, 1), 0), 25), 1), 1)
	arr = append(be32(arr, uint32(len(elem))), elem...)
	rec := append(be32(be32(be32(nil, 1), 25), uint32(len(elem))), elem...)
	tests := []struct {
		name   string
		oid    uint32
		format int16
		v      []byte
		want   bool
	}{
		{"binary int8", oidInt8, 1, binary.BigEndian.AppendUint64(nil, 4111111111111111), true},
		{"binary int8 clean", oidInt8, 1, binary.BigEndian.AppendUint64(nil, 42), false},
		{"binary text array glued by length", 1009, 1, arr, true},
		{"binary record glued by length", 2249, 1, rec, true},
		{"jsonb", oidJSONB, 1, append([]byte{1}, `"4111111111111111"`...), true},
		{"json escape", oidJSON, 0, []byte(`"\u0034111111111111111"`), true},
		{"bytea hex", oidBytea, 0, []byte(`\x34313131313131313131313131313131`), true},
		{"bytea array hex", 1001, 0, []byte(`{"\\x34313131313131313131313131313131"}`), true},
		{"clean array", 1009, 0, []byte(`{a,b}`), false},
		{"odd hex run", oidBytea, 0, []byte(`\x3431313\xzz\x`), false},
		{"nested binary array", 1009, 1, append(be32(be32(be32(be32(be32(be32(nil, 1), 0), 1009), 1), 1), uint32(len(arr))), arr...), true},
		{"truncated binary array", 1009, 1, arr[:len(arr)-3], false},
	}
	for _, tc := range tests {
		if got := encodedFinds(s, tc.oid, tc.format, tc.v); got != tc.want {
			t.Errorf("%s: encodedFinds = %v, want %v", tc.name, got, tc.want)
		}
	}
}
