package masking

// IBANs: a country code from the registry below, two check digits and the
// country's BBAN, either compact ("DE89370400440532013000") or printed in
// groups of four separated by single spaces ("DE89 3704 0044 0532 0130 00"),
// valid under ISO 7064 mod-97. Letters may be of either case.

// ibanLengths is the total IBAN length per country (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
	"DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
	"FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
	"GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
	"MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
	"PL": 28, "PS": 29, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
	"SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

const maxIBAN = 34

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

func findIBANs(s string, dst [][2]int) [][2]int {
	for i := 0; i+15 <= len(s); i++ {
		// digits are rarer than letters in text: test them first
		if !isDigit(s[i+2]) || !isDigit(s[i+3]) || !isAlpha(s[i]) || !isAlpha(s[i+1]) {
			continue
		}
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
		cc := [2]byte{upper(s[i]), upper(s[i+1])}
		want, ok := ibanLengths[string(cc[:])]
		if !ok {
			continue
		}
		if end, ok := ibanAt(s, i, want); ok {
			dst = append(dst, [2]int{i, end})
			i = end - 1
		}
	}
	return dst
}

// ibanAt reads an IBAN of want characters starting at s[i] and reports its
// end and whether it is valid.
func ibanAt(s string, i, want int) (int, bool) {
	var buf [maxIBAN]byte
	n, j := 0, i
	for n < want && j < len(s) {
		c := s[j]
		switch {
		case isAlnum(c):
			buf[n] = upper(c)
			n++
			j++
		case c == ' ' && n%4 == 0 && j+1 < len(s) && isAlnum(s[j+1]):
			j++
		default:
			return 0, false
		}
	}
	if n != want || (j < len(s) && isAlnum(s[j])) {
		return 0, false
	}
	return j, mod97(buf[:n])
}

// mod97 computes ISO 7064 MOD 97-10 over the rearranged IBAN.
func mod97(b []byte) bool {
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	for _, c := range b[4:] {
		add(c)
	}
	for _, c := range b[:4] {
		add(c)
	}
	return r == 1
}
