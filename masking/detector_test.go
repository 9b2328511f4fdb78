package masking

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type detectorCase struct {
	detector string
	in       string
	want     []string // the findings, as text
}

var detectorCases = []detectorCase{
	// credit_card
	{"credit_card", "visa 4111111111111111 on file", []string{"4111111111111111"}},
	{"credit_card", "mc 5555555555554444, amex 378282246310005", []string{"5555555555554444", "378282246310005"}},
	{"credit_card", "spaced 4111 1111 1111 1111.", []string{"4111 1111 1111 1111"}},
	{"credit_card", "dashed 6011-1111-1111-1117", []string{"6011-1111-1111-1117"}},
	{"credit_card", "13 digits 4222222222222 and 19 digits 6304000000000000000", []string{"4222222222222", "6304000000000000000"}},
	{"credit_card", "card 4111 1111 1111 1111 12 29", []string{"4111 1111 1111 1111"}},
	{"credit_card", "order 2024 4111111111111111", []string{"4111111111111111"}},
	{"credit_card", "bad luhn 4111111111111112", nil},
	{"credit_card", "too short 411111111111", nil},
	{"credit_card", "too long 41111111111111111111111", nil},
	{"credit_card", "glued x4111111111111111 and 4111111111111111y", nil},
	{"credit_card", "double separator 4111--1111-1111-1111", nil},
	{"credit_card", "no digits here at all, just words", nil},
	{"credit_card", `{"card":"5555555555554444"}`, []string{"5555555555554444"}},
	{"credit_card", "dots 4477.7327.8523.3903, mixed 4111 1111-1111.1111", []string{"4477.7327.8523.3903", "4111 1111-1111.1111"}},
	{"credit_card", "zero padded 00004452308039158821 and 000000004452308039158821", []string{"4452308039158821", "4452308039158821"}},
	{"credit_card", "decimals 3.14159265358979 1234567812.345670 4452308039.158821", nil},
	{"credit_card", "longer run 14452308039158821555", nil},
	// us_ssn
	{"us_ssn", "ssn 123-45-6789", []string{"123-45-6789"}},
	{"us_ssn", "ssn 123 45 6789 end", []string{"123 45 6789"}},
	{"us_ssn", "area 000-12-3456 666-12-3456 900-12-3456 999-12-3456", nil},
	{"us_ssn", "group 123-00-4567 serial 123-45-0000", nil},
	{"us_ssn", "mixed 123-45 6789", nil},
	{"us_ssn", "longer 1-123-45-6789 and 123-45-6789-1 and 1234-45-6789", nil},
	{"us_ssn", "glued a123-45-6789 123-45-6789b", nil},
	{"us_ssn", "two 078-05-1120,219-09-9999", []string{"078-05-1120", "219-09-9999"}},
	{"us_ssn", "899-99-9999 is the last valid area", []string{"899-99-9999"}},
	// email
	{"email", "mail alice@example.com now", []string{"alice@example.com"}},
	{"email", "<bob.smith+tag@mail.example.co.uk>", []string{"bob.smith+tag@mail.example.co.uk"}},
	{"email", "end of sentence carol@example.org.", []string{"carol@example.org"}},
	{"email", "a@b.c x@localhost @example.com user@ user@-bad.com", nil},
	{"email", "key=dave_99@sub-domain.example.io;", []string{"dave_99@sub-domain.example.io"}},
	{"email", "two: e1@x.io,e2@y.io", []string{"e1@x.io", "e2@y.io"}},
	{"email", "numeric tld user@example.123", nil},
	{"email", "idn zq.r12mail@bücher.de, jörg.x@example.com; zq@пример.рф", []string{"zq.r12mail@bücher.de", "jörg.x@example.com", "zq@пример.рф"}},
	{"email", `quoted "zq r12quoted"@example.com and ""@example.com`, []string{`"zq r12quoted"@example.com`}},
	{"email", "smart quotes “alice@example.com”", []string{"alice@example.com"}},
	// iban
	{"iban", "DE89370400440532013000", []string{"DE89370400440532013000"}},
	{"iban", "pay to GB82 WEST 1234 5698 7654 32 today", []string{"GB82 WEST 1234 5698 7654 32"}},
	{"iban", "FR1420041010050500013M02606 NL91ABNA0417164300", []string{"FR1420041010050500013M02606", "NL91ABNA0417164300"}},
	{"iban", "no NO9386011117947, be BE68539007547034", []string{"NO9386011117947", "BE68539007547034"}},
	{"iban", "ch CH9300762011623852957 es ES9121000418450200051332", []string{"CH9300762011623852957", "ES9121000418450200051332"}},
	{"iban", "it IT60X0542811101000000123456 pl PL61109010140000071219812874", []string{"IT60X0542811101000000123456", "PL61109010140000071219812874"}},
	{"iban", "lower de89370400440532013000", []string{"de89370400440532013000"}},
	{"iban", "bad check DE89370400440532013001", nil},
	{"iban", "unknown country ZZ89370400440532013000", nil},
	{"iban", "wrong length DE8937040044053201300", nil},
	{"iban", "glued xDE89370400440532013000 DE893704004405320130001", nil},
	// api_key
	{"api_key", "aws AKIAIOSFODNN7EXAMPLE ok", []string{"AKIAIOSFODNN7EXAMPLE"}},
	{"api_key", "gh ghp_1234567890abcdefghijABCDEFGHIJ123456", []string{"ghp_1234567890abcdefghijABCDEFGHIJ123456"}},
	{"api_key", "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", []string{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"}},
	{"api_key", "slack xoxb-123456789012-abcdefghij", []string{"xoxb-123456789012-abcdefghij"}},
	{"api_key", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", []string{"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}},
	{"api_key", "google AIzaSyA1234567890abcdefghijklmnopqrstuv", []string{"AIzaSyA1234567890abcdefghijklmnopqrstuv"}},
	{"api_key", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl end", []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"}},
	{"api_key", "https://x.io/?api_key=9f8e7d6c5b4a39281706&x=1", []string{"9f8e7d6c5b4a39281706"}},
	{"api_key", `{"client_secret": "s3cr3tValue0123456789"}`, []string{"s3cr3tValue0123456789"}},
	{"api_key", "password=hunter22 user=bob", []string{"hunter22"}},
	{"api_key", "sort_key=customer_created_at_desc token=short1", nil},
	{"api_key", "AKIA is a prefix, ghp_short, high ground, at 12:30", nil},
}

func texts(s string, ranges [][2]int) []string {
	var out []string
	for _, r := range ranges {
		out = append(out, s[r[0]:r[1]])
	}
	return out
}

func TestBuiltinDetectors(t *testing.T) {
	for _, tc := range detectorCases {
		t.Run(tc.detector+"/"+tc.in, func(t *testing.T) {
			d, ok := BuiltinDetector(tc.detector)
			if !ok {
				t.Fatalf("no detector %q", tc.detector)
			}
			got := texts(tc.in, d.FindAll(tc.in))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuiltinDetectorNames(t *testing.T) {
	want := []string{"api_key", "credit_card", "email", "iban", "us_ssn"}
	if diff := cmp.Diff(want, BuiltinDetectorNames()); diff != "" {
		t.Error(diff)
	}
	if _, ok := BuiltinDetector("pattern"); ok {
		t.Error("pattern is not a built-in detector")
	}
}

func TestPatternDetector(t *testing.T) {
	tests := []struct {
		expr, in string
		want     []string
		wantErr  bool
	}{
		{`EMP-[0-9]{6}`, "ids EMP-123456 and EMP-654321", []string{"EMP-123456", "EMP-654321"}, false},
		{`EMP-[0-9]{6}`, "no ids", nil, false},
		{`x*`, "abc", nil, false}, // empty matches are not findings
		{`(?i)secret\w+`, "SecretSauce here", []string{"SecretSauce"}, false},
		{`(unclosed`, "", nil, true},
		{`\C`, "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			d, err := PatternDetector("custom", tc.expr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if d.Name() != "custom" {
				t.Errorf("Name() = %q", d.Name())
			}
			if diff := cmp.Diff(tc.want, texts(tc.in, d.FindAll(tc.in))); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}
