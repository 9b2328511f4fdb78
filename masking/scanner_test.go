package masking

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/model"
)

func mustScanner(t testing.TB, rules ...*model.DetectorRule) *Scanner {
	t.Helper()
	rs, err := CompileRules(rules, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return NewScanner(rs...)
}

func rule(detector, method string) *model.DetectorRule {
	return &model.DetectorRule{Detector: detector, Name: detector, Method: method}
}

// allRedact is a scanner with every built-in detector and redact.
func allRedact(t testing.TB) *Scanner {
	var rs []*model.DetectorRule
	for _, n := range BuiltinDetectorNames() {
		rs = append(rs, rule(n, "redact"))
	}
	return mustScanner(t, rs...)
}

func TestScannerMask(t *testing.T) {
	mixed := []*model.DetectorRule{
		rule("credit_card", "partial"),
		rule("email", "email"),
		rule("us_ssn", "redact"),
		rule("iban", "hash"),
		rule("api_key", "redact"),
		{Detector: "pattern", Name: "employee_id", Method: "partial", Pattern: `EMP-[0-9]{6}`},
	}
	tests := []struct {
		name     string
		rules    []*model.DetectorRule
		in       string
		want     string
		wantN    int
		wantNull bool
	}{
		{"nothing", mixed, "order 42 shipped to Berlin on 2026-11-02", "order 42 shipped to Berlin on 2026-11-02", 0, false},
		{"card partial", mixed, "paid with 4111 1111 1111 1111 yesterday", "paid with **** **** **** 1111 yesterday", 1, false},
		{"email keeps domain", mixed, "contact alice@example.com or bob@example.org", "contact ****@example.com or ****@example.org", 2, false},
		{"ssn redacted", mixed, "SSN 123-45-6789; invalid 666-12-3456", "SSN [REDACTED]; invalid 666-12-3456", 1, false},
		{"iban hashed", mixed, "IBAN DE89370400440532013000", "IBAN h:" + hashOf("DE89370400440532013000"), 1, false},
		{"api key", mixed, "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "export AWS_ACCESS_KEY_ID=[REDACTED]", 1, false},
		{"pattern", mixed, "employee EMP-123456", "employee E********6", 1, false},
		{"all kinds", mixed, "alice@example.com 4111111111111111 123-45-6789", "****@example.com ************1111 [REDACTED]", 3, false},
		{"null nulls the value", []*model.DetectorRule{rule("credit_card", "null")}, "card 4111111111111111", "", 1, true},
		// The card is inside an email local part: both findings join and the
		// stronger method (redact over email) masks the union.
		{"overlap strongest wins", []*model.DetectorRule{rule("email", "email"), rule("credit_card", "redact")},
			"to 4111111111111111@example.com", "to [REDACTED]", 1, false},
		{"empty", mixed, "", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustScanner(t, tc.rules...)
			got, null, n := s.Mask([]byte(tc.in))
			if null != tc.wantNull || n != tc.wantN {
				t.Errorf("isNull, n = %v, %d; want %v, %d", null, n, tc.wantNull, tc.wantN)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Mask (-want +got):\n%s", diff)
			}
			str, n2 := s.MaskString(tc.in)
			wantStr := tc.want
			if tc.wantNull {
				wantStr = strings.Replace(tc.in, "4111111111111111", Redacted, 1)
			}
			if str != wantStr || n2 != tc.wantN {
				t.Errorf("MaskString = %q, %d; want %q, %d", str, n2, wantStr, tc.wantN)
			}
		})
	}
}

func hashOf(v string) string {
	m, _ := NewMethod("hash", testKey)
	out, _ := m.Apply([]byte(v))
	return string(out[len(HashPrefix):])
}

func TestScannerNoMatchReturnsInput(t *testing.T) {
	s := allRedact(t)
	in := []byte("plain row value with nothing sensitive in it, id 12345")
	out, null, n := s.Mask(in)
	if n != 0 || null || &out[0] != &in[0] {
		t.Errorf("Mask changed or copied a clean value: n=%d null=%v", n, null)
	}
	allocs := testing.AllocsPerRun(100, func() { s.Mask(in) })
	if allocs != 0 {
		t.Errorf("Mask of a clean value allocates %v times", allocs)
	}
}

func TestCompileRulesErrors(t *testing.T) {
	tests := []struct {
		name string
		r    *model.DetectorRule
		key  []byte
	}{
		{"unknown detector", rule("passport", "redact"), nil},
		{"unknown method", rule("email", "scramble"), nil},
		{"hash without key", rule("email", "hash"), nil},
		{"bad pattern", &model.DetectorRule{Detector: "pattern", Name: "p", Method: "redact", Pattern: "("}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CompileRules([]*model.DetectorRule{tc.r}, tc.key); err == nil {
				t.Error("CompileRules accepted a bad rule")
			}
		})
	}
}

func TestEmptyScanner(t *testing.T) {
	var s *Scanner
	if out, n := s.MaskString("alice@example.com"); out != "alice@example.com" || n != 0 {
		t.Errorf("nil scanner masked: %q %d", out, n)
	}
	if !NewScanner().Empty() {
		t.Error("NewScanner() not empty")
	}
}

func TestScannerFinds(t *testing.T) {
	s := allRedact(t)
	for in, want := range map[string]bool{
		"card 4111 1111 1111 1111": true,
		"mail ann@example.com":     true,
		"id 12345, nothing else":   false,
		"":                         false,
	} {
		if got := s.Finds([]byte(in)); got != want {
			t.Errorf("Finds(%q) = %v, want %v", in, got, want)
		}
	}
	if (*Scanner)(nil).Finds([]byte("4111 1111 1111 1111")) {
		t.Error("nil scanner finds")
	}
}
