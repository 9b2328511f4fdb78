package masking

import (
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

// foldedCases are values whose findings only the folded text shows: digits
// of other scripts, invisible characters between digits or letters,
// Unicode spaces and dashes as separators, fullwidth ASCII. Each is masked
// whole, and the method sees the folded finding (partial keeps four ASCII
// digits, not a fullwidth first and last character).
var foldedCases = []struct {
	name, in, want string
}{
	{"fullwidth digits", "card ４７４８ ５２６０ ５７４７ ９３８１ ok", "card **** **** **** 9381 ok"},
	{"arabic-indic digits", "٥٠٩٢٧٥٢٥٣٠٩٣١٨٥٠", "************1850"},
	{"devanagari digits", "४७४८५२६०५७४७९३८१", "************9381"},
	{"zero-width spaces", "3761\u200b008316\u200b71627", "***********1627"},
	{"soft hyphens", "6011\u00ad8598\u00ad2082\u00ad8161", "************8161"},
	{"word joiners", "4969\u20607796\u206080133", "*********0133"},
	{"combining marks", "4\u03360\u03365\u03364\u0336138877547278", "************7278"},
	{"no-break spaces", "paid 4455\u00a06414\u00a03555\u00a08982\u00a0067 ok", "paid **** **** **** ***2 067 ok"},
	{"narrow no-break spaces", "4608\u202f0360\u202f6391\u202f8322", "**** **** **** 8322"},
	{"en dashes", "5140\u20136475\u20139087\u20135355", "****-****-****-5355"},
	{"fullwidth dashes", "４４９０－４５８７－３４８４－０００１", "****-****-****-0001"},
	{"ssn fullwidth", "ssn ５３１-７２-９４６８", "ssn [REDACTED]"},
	{"ssn non-breaking hyphens", "612\u201148\u20119357", "[REDACTED]"},
	{"email fullwidth at", "zq.r12full＠example.com", "****@example.com"},
	{"email zero-width", "to zq.r12zw\u200b@example.com.", "to ****@example.com."},
	{"email all fullwidth", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "****@example.com"},
	{"iban no-break spaces", "GB82\u00a0WEST\u00a01234\u00a05698\u00a07654\u00a032", "[REDACTED]"},
	{"iban fullwidth", "ＤＥ８９３７０４００４４０５３２０１３０００", "[REDACTED]"},
	{"aws key with a word joiner", "AKIA\u2060IOSFODNN7R12KEYX", "[REDACTED]"},
	{"stripe key fullwidth", "ｓｋ＿ｌｉｖｅ＿４ｅＣ３９ＨｑＬｙｊＷＤａｒｊｔＴ１ｚｄｐ７ｄｃ", "[REDACTED]"},
	// Text that folds but holds nothing stays as it is.
	{"nothing", "Straße 12\u00a0b, ４ Stück, 東京都", "Straße 12\u00a0b, ４ Stück, 東京都"},
	{"ascii finding next to folded text", "４ items for 4111 1111 1111 1111", "４ items for **** **** **** 1111"},
}

func TestScannerFoldsText(t *testing.T) {
	s := mustScanner(t,
		rule("credit_card", "partial"),
		rule("email", "email"),
		rule("us_ssn", "redact"),
		rule("iban", "redact"),
		rule("api_key", "redact"),
	)
	for _, tc := range foldedCases {
		t.Run(tc.name, func(t *testing.T) {
			out, null, _ := s.Mask([]byte(tc.in))
			if null {
				t.Fatal("NULL")
			}
			if diff := cmp.Diff(tc.want, string(out)); diff != "" {
				t.Errorf("Mask (-want +got):\n%s", diff)
			}
			if str, _ := s.MaskString(tc.in); str != string(out) {
				t.Errorf("MaskString %q differs from Mask %q", str, out)
			}
		})
	}
}

// TestFoldedHash: a folded value hashes as its ASCII form, so hashed
// values still join whatever digits they were written in.
func TestFoldedHash(t *testing.T) {
	s := mustScanner(t, rule("credit_card", "hash"))
	a, _ := s.MaskString("4748 5260 5747 9381")
	b, _ := s.MaskString("４７４８ ５２６０ ５７４７ ９３８１")
	if a != b || a == "4748 5260 5747 9381" {
		t.Errorf("hashes differ: %q, %q", a, b)
	}
}

// TestDigitValue checks what digitValue relies on: the decimal digits of
// every script are runs of ten (the table's ranges join whole runs), and
// mayFold's shortcut that nothing in U+4000..U+9FFF folds.
func TestDigitValue(t *testing.T) {
	for _, rg := range unicode.Nd.R16 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("Nd range %U..%U stride %d is not whole runs of ten", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("Nd range %U..%U stride %d is not whole runs of ten", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	for r, want := range map[rune]byte{'０': 0, '９': 9, '٣': 3, '۷': 7, '४': 4, '๙': 9, 0x1d7ce: 0, 0x1d7d9: 1, 0x1d7ff: 9} {
		if got := digitValue(r); got != want {
			t.Errorf("digitValue(%U) = %d, want %d", r, got, want)
		}
	}
	for r := rune(0x4000); r <= 0x9fff; r++ {
		if _, how := foldRune(r); how != foldKeep {
			t.Fatalf("%U folds: mayFold skips U+4000..U+9FFF", r)
		}
	}
}

func TestNormalizeOffsets(t *testing.T) {
	in := "a\u200b４\u00a0bcd\u200b"
	out, m, ok := normalize(in)
	if !ok || string(out) != "a4 bcd" {
		t.Fatalf("normalize = %q, %v", out, ok)
	}
	var got []int
	for i := 0; i <= len(out); i++ {
		got = append(got, m.orig(i))
	}
	// a, then ４ after the zero-width space, the no-break space, b c d,
	// and the end after the last zero-width space
	want := []int{0, 4, 7, 9, 10, 11, 15}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
	for _, in := range []string{"plain ascii", "Straße 東京", "\xff\xfe broken"} {
		if _, _, ok := normalize(in); ok {
			t.Errorf("normalize(%q) changed text that does not fold", in)
		}
	}
}

func TestScannerMaskFoldedAllocs(t *testing.T) {
	s := allRedact(t)
	in := []byte("Lieferung über Spedition Müller, 東京都渋谷区")
	if allocs := testing.AllocsPerRun(100, func() { s.Mask(in) }); allocs != 0 {
		t.Errorf("Mask of clean non-ASCII text allocates %v times", allocs)
	}
}
