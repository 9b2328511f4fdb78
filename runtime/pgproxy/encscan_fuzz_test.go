package pgproxy

import (
	"encoding/binary"
	"testing"

	"github.com/mandatehq/mandate/masking"
	"github.com/mandatehq/mandate/model"
)

// encOIDs are the type OIDs encodedFinds treats apart, plus text, an
// array type and record, which it frames by shape.
var encOIDs = []uint32{oidBytea, oidInt8, oidInt2, oidInt4, oidJSON, oidXML, oidXMLs, oidJSONB, oidNumeric, oidXID8,
	3904, 3906, 3926, 4451, 4532, 4536, 25, 1007, 2249, oidMoney, oidMoneys, oidFloat8, 1022, oidTSVec, oidTSVecs,
	16500} // 16500: an extension's type (hstore)

// FuzzEncodedFinds feeds arbitrary values, as the upstream server (and the
// data an agent stored) may send them, through the decoding detectors run
// on: it must never panic, and a value holding a card number in the clear
// is found whatever its type claims to be once its encoding is undone.
func FuzzEncodedFinds(f *testing.F) {
	rules := make([]*model.DetectorRule, 0, len(masking.BuiltinDetectorNames()))
	for _, n := range masking.BuiltinDetectorNames() {
		rules = append(rules, &model.DetectorRule{Detector: n, Name: n, Method: "redact"})
	}
	rs, err := masking.CompileRules(rules, []byte("fuzz-key"))
	if err != nil {
		f.Fatal(err)
	}
	s := masking.NewScanner(rs...)
	be32 := func(xs ...uint32) []byte {
		var b []byte
		for _, x := range xs {
			b = binary.BigEndian.AppendUint32(b, x)
		}
		return b
	}
	card := []byte("4111111111111111")
	f.Add(uint8(0), int16(0), []byte(`{"a":"\u0034111111111111111"}`))
	f.Add(uint8(4), int16(0), []byte(`<a>&#52;111111111111111</a>`))
	f.Add(uint8(0), int16(0), []byte(`\x34313131313131313131313131313131`))
	f.Add(uint8(17), int16(0), []byte(`{"{\"\\\\u0034111111111111111\"}"}`))
	f.Add(uint8(1), int16(1), binary.BigEndian.AppendUint64(nil, 4111111111111111))
	f.Add(uint8(8), int16(1), []byte{0, 4, 0, 3, 0, 0, 0, 0, 0x10, 0x0f, 0x04, 0x57, 0x04, 0x57, 0x04, 0x57})
	f.Add(uint8(17), int16(1), append(be32(1, 0, 25, 1, 1, uint32(len(card))), card...))
	f.Add(uint8(18), int16(1), append(be32(1, 25, uint32(len(card))), card...))
	f.Add(uint8(12), int16(1), append([]byte{0x02}, append(be32(8), binary.BigEndian.AppendUint64(nil, 4111111111111111)...)...))
	f.Add(uint8(15), int16(1), append(be32(1, 13), append([]byte{0x02}, append(be32(8), binary.BigEndian.AppendUint64(nil, 4111111111111111)...)...)...))
	f.Add(uint8(18), int16(1), be32(0x7fffffff))
	f.Add(uint8(17), int16(1), be32(6, 0, 1007, 0x7fffffff, 0, 0x7fffffff, 0))
	f.Fuzz(func(t *testing.T, pick uint8, format int16, v []byte) {
		oid := encOIDs[int(pick)%len(encOIDs)]
		_ = encodedFinds(s, oid, format&1, v)
		// The same value inside a one-element binary array and record.
		arr := append(be32(1, 0, oid, 1, 1, uint32(len(v))), v...)
		rec := append(be32(1, oid, uint32(len(v))), v...)
		if found := encodedFinds(s, 1007, 1, arr); !found && encodedFinds(s, oid, 1, v) {
			t.Errorf("found in a %d value but not inside an array of them: %x", oid, v)
		}
		if found := encodedFinds(s, 2249, 1, rec); !found && encodedFinds(s, oid, 1, v) {
			t.Errorf("found in a %d value but not inside a record: %x", oid, v)
		}
	})
}
