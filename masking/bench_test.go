package masking

import (
	"regexp"
	"testing"
)

var benchValues = map[string]string{
	// a typical 100-byte text column with nothing to mask
	"clean100":  "Order 7731 for ACME Corp shipped from warehouse B on 2026-11-02 via DHL, status delivered, qty 3.",
	"digits100": "ref 2026110212345 batch 88 lot 4471 serial 20261102-0042 weight 12.5 kg dims 30x40x50 pallets 4.",
	"email":     "Customer alice.smith@example.com asked about order 7731; reply before Friday, cc ops@example.org.",
	"card":      "Card 4111 1111 1111 1111 charged 129.99 EUR for order 7731 on 2026-11-02 by customer 55190 ok.",
	"prose100":  "Customer asked about the delivery window and wants the parcel left with the neighbour, thank you.",
	"long4k":    repeat("Order 7731 shipped from warehouse B, status delivered. ", 75),
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

var benchNames = []string{"clean100", "prose100", "digits100", "email", "card", "long4k"}

// baselineRE is the naive alternative the scanner is compared with in
// bench/masking.sh: one regular expression for cards, SSNs, emails and IBANs,
// run over every value (no Luhn, mod-97 or range checks, so it does less).
var baselineRE = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b` +
	`|\b\d{3}-\d{2}-\d{4}\b` +
	`|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}` +
	`|\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`)

// BenchmarkBaselineRegexp is the baseline of BenchmarkScannerMask.
func BenchmarkBaselineRegexp(b *testing.B) {
	for _, name := range benchNames {
		v := benchValues[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			b.ReportAllocs()
			for b.Loop() {
				baselineRE.FindAllStringIndex(v, -1)
			}
		})
	}
}

// BenchmarkScannerMask runs every built-in detector (redact) over values.
func BenchmarkScannerMask(b *testing.B) {
	s := allRedact(b)
	for _, name := range benchNames {
		v := []byte(benchValues[name])
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			b.ReportAllocs()
			for b.Loop() {
				s.Mask(v)
			}
		})
	}
}

// BenchmarkDetector runs each built-in detector alone over the clean value.
func BenchmarkDetector(b *testing.B) {
	v := benchValues["clean100"]
	for _, name := range BuiltinDetectorNames() {
		d, _ := BuiltinDetector(name)
		s := NewScanner(Rule{Detector: d, MethodName: "redact", Method: redact{}})
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.MaskString(v)
			}
		})
	}
}

func BenchmarkMethods(b *testing.B) {
	v := []byte("alice.smith@example.com")
	for _, name := range Methods() {
		m, _ := NewMethod(name, testKey)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Apply(v)
			}
		})
	}
}
