package masking

import (
	"strings"
	"testing"
)

func seedFuzz(f *testing.F) {
	for _, tc := range detectorCases {
		f.Add(tc.in)
	}
	f.Add("4111 1111 1111 1111 4111-1111-1111-1111 alice@example.com 123-45-6789")
	f.Add("GB82 WEST 1234 5698 7654 32 password=hunter22 AKIAIOSFODNN7EXAMPLE")
	f.Add("\xff@\xfe.com 4111\x001111111111111")
}

// FuzzDetectors checks that every built-in detector returns sorted,
// non-overlapping, in-bounds findings that satisfy the detector's own checks.
func FuzzDetectors(f *testing.F) {
	seedFuzz(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range BuiltinDetectorNames() {
			d, _ := BuiltinDetector(name)
			prev := 0
			for _, r := range d.FindAll(s) {
				if r[0] < prev || r[0] >= r[1] || r[1] > len(s) {
					t.Fatalf("%s: bad range %v (prev end %d) in %q", name, r, prev, s)
				}
				prev = r[1]
				v := s[r[0]:r[1]]
				switch name {
				case DetectorCreditCard:
					if !luhn(v) {
						t.Fatalf("card %q fails Luhn", v)
					}
					n := 0
					for i := 0; i < len(v); i++ {
						if isDigit(v[i]) {
							n++
						}
					}
					if n < 13 || n > 19 {
						t.Fatalf("card %q has %d digits", v, n)
					}
				case DetectorUSSSN:
					if len(v) != 11 || !ssnAt(v, 0) {
						t.Fatalf("invalid ssn %q", v)
					}
				case DetectorIBAN:
					compact := strings.ToUpper(strings.ReplaceAll(v, " ", ""))
					if len(compact) < 15 || len(compact) > maxIBAN || !mod97([]byte(compact)) {
						t.Fatalf("invalid iban %q", v)
					}
				case DetectorEmail:
					if strings.Count(v, "@") != 1 {
						t.Fatalf("email %q", v)
					}
				}
			}
		}
	})
}

// FuzzScanner checks that a redacting scanner never leaves a finding's text
// in its output (unless that text also occurs outside every finding) and
// that Mask and MaskString agree. (Masking is not strictly idempotent: a
// number next to a masked card can look like a finding once the card is
// gone, e.g. "…0000-100-01-0710" -> "[REDACTED]-100-01-0710".)
func FuzzScanner(f *testing.F) {
	seedFuzz(f)
	s := allRedact(f)
	f.Fuzz(func(t *testing.T, in string) {
		out, null, n := s.Mask([]byte(in))
		if null {
			t.Fatal("redact produced NULL")
		}
		fs := s.find(in)
		if n != len(fs) {
			t.Fatalf("n = %d, findings %d", n, len(fs))
		}
		if n == 0 {
			if string(out) != in {
				t.Fatalf("clean value changed: %q -> %q", in, out)
			}
			return
		}
		var rest strings.Builder
		prev := 0
		for _, f := range fs {
			rest.WriteString(in[prev:f.start])
			rest.WriteByte(0)
			prev = f.end
		}
		rest.WriteString(in[prev:])
		for _, f := range fs {
			v := in[f.start:f.end]
			if len(v) >= 6 && strings.Contains(string(out), v) && !strings.Contains(rest.String(), v) {
				t.Fatalf("finding %q survives in %q", v, out)
			}
		}
		str, n2 := s.MaskString(in)
		if str != string(out) || n2 != n {
			t.Fatalf("MaskString %q,%d differs from Mask %q,%d", str, n2, out, n)
		}
	})
}
