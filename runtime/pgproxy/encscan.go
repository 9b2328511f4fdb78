package pgproxy

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mandatehq/mandate/masking"
)

// Type OIDs whose encodings hide text from a plain scan of the bytes.
const (
	oidBytea   = 17
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidJSON    = 114
	oidXML     = 142
	oidXMLs    = 143 // xml[]
	oidJSONB   = 3802
	oidNumeric = 1700
	oidXID8    = 5069
	oidFloat8  = 701
	oidMoney   = 790
	oidMoneys  = 791 // money[]
	oidTSVec   = 3614
	oidTSVecs  = 3643 // tsvector[]
)

// rangeElems maps the built-in range types whose bounds a text scan would
// see as digits (int4range, numrange, int8range) to their element types,
// and multiRanges their multirange types to the range types.
var (
	rangeElems  = map[uint32]uint32{3904: oidInt4, 3906: oidNumeric, 3926: oidInt8}
	multiRanges = map[uint32]uint32{4451: 3904, 4532: 3906, 4536: 3926}
)

// maxEncDepth bounds the nesting of arrays and records decodeFinds follows.
const maxEncDepth = 8

// encodedFinds reports whether the detectors find something in a value of
// type oid sent in format (0 text, 1 binary) once its encoding is undone:
// the elements of binary arrays, records, ranges and hstore pairs (whose
// length prefixes may glue a letter to a number), binary integers,
// numerics, money and float8 (digits a text scan would see), the digit
// group separators of money text, numbers printed with an exponent
// (float8), the lexemes of a tsvector in document order, jsonb's version
// byte, \uXXXX escapes of JSON text (also inside the quoting of array and
// record text), XML character references, and the hex and escape outputs
// of bytea. The caller has scanned the raw bytes.
func encodedFinds(s *masking.Scanner, oid uint32, format int16, v []byte) bool {
	if format == 0 {
		return hexFinds(s, v) || octalFinds(s, v) || (oid == oidJSON || oid == oidJSONB) && jsonEscapesFind(s, v) ||
			quotedEscapesFind(s, v) || (oid == oidXML || oid == oidXMLs) && xmlRefsFind(s, v) ||
			floatsFind(s, v) || (oid == oidMoney || oid == oidMoneys) && s.Finds(moneyDigits(v)) ||
			bytes.IndexByte(v, '"') >= 0 && s.Finds(quotedMoney(v)) ||
			(oid == oidTSVec || oid == oidTSVecs) && s.Finds(tsvectorText(v))
	}
	return binaryFinds(s, oid, v, 0)
}

// binaryFinds is encodedFinds for a value in binary format whose raw bytes
// were scanned.
func binaryFinds(s *masking.Scanner, oid uint32, v []byte, depth int) bool {
	var buf [32]byte
	switch oid {
	case oidInt2:
		return len(v) == 2 && s.Finds(strconv.AppendInt(buf[:0], int64(int16(binary.BigEndian.Uint16(v))), 10))
	case oidInt4:
		return len(v) == 4 && s.Finds(strconv.AppendInt(buf[:0], int64(int32(binary.BigEndian.Uint32(v))), 10))
	case oidInt8:
		return len(v) == 8 && s.Finds(strconv.AppendInt(buf[:0], int64(binary.BigEndian.Uint64(v)), 10))
	case oidXID8:
		return len(v) == 8 && s.Finds(strconv.AppendUint(buf[:0], binary.BigEndian.Uint64(v), 10))
	case oidNumeric:
		t, ok := numericText(v)
		return ok && s.Finds([]byte(t))
	case oidMoney:
		// cents: the amount with two decimals, as lc_monetary C prints it
		if len(v) != 8 {
			return false
		}
		c := int64(binary.BigEndian.Uint64(v))
		t := strconv.AppendInt(buf[:0], c/100, 10)
		t = append(t, '.', byte('0'+abs(c%100)/10), byte('0'+abs(c%100)%10))
		return s.Finds(t)
	case oidFloat8:
		return len(v) == 8 && s.Finds(floatDigits(buf[:0], math.Float64frombits(binary.BigEndian.Uint64(v))))
	case oidJSONB:
		return len(v) > 0 && (s.Finds(v[1:]) || jsonEscapesFind(s, v[1:]) || floatsFind(s, v[1:]))
	case oidJSON:
		return jsonEscapesFind(s, v) || floatsFind(s, v)
	case oidXML:
		return xmlRefsFind(s, v)
	case oidTSVec:
		t, ok := tsvectorBinary(v)
		return ok && s.Finds(t)
	}
	if textLike(oid) || oid == oidBytea || depth >= maxEncDepth {
		return false // the raw bytes are the value
	}
	if elem, ok := rangeElems[oid]; ok {
		return rangeFinds(s, elem, v, depth)
	}
	if rng, ok := multiRanges[oid]; ok {
		// A count, then each range length-prefixed.
		if len(v) < 4 {
			return false
		}
		for p := 4; p < len(v); {
			r, q, ok := lengthPrefixed(v, p)
			if !ok {
				return false
			}
			if r != nil && binaryFinds(s, rng, r, depth+1) {
				return true
			}
			p = q
		}
		return false
	}
	// Another type: an array, a record or (extension types) hstore's pairs
	// when its framing parses exactly; each element is then scanned alone,
	// raw and decoded.
	elems, ok := binaryArray(v)
	if !ok {
		elems, ok = binaryRecord(v)
	}
	if !ok {
		elems, ok = binaryPairs(v)
	}
	if !ok {
		return false
	}
	for _, e := range elems {
		if e.v != nil && (s.Finds(e.v) || binaryFinds(s, e.oid, e.v, depth+1)) {
			return true
		}
	}
	return false
}

// rangeFinds scans the bounds of a range in binary format: a flags byte,
// then the lower and upper bounds (each length-prefixed) unless the range
// is empty or the bound infinite.
func rangeFinds(s *masking.Scanner, elem uint32, v []byte, depth int) bool {
	const empty, lowerInf, upperInf = 0x01, 0x08, 0x10
	if len(v) < 1 || v[0]&empty != 0 {
		return false
	}
	p := 1
	for _, inf := range []byte{lowerInf, upperInf} {
		if v[0]&inf != 0 {
			continue
		}
		b, q, ok := lengthPrefixed(v, p)
		if !ok {
			return false
		}
		if b != nil && (s.Finds(b) || binaryFinds(s, elem, b, depth+1)) {
			return true
		}
		p = q
	}
	return false
}

type binElem struct {
	oid uint32
	v   []byte // nil: NULL
}

// binaryArray splits an array in binary format: ndim, flags, element type,
// ndim (size, lower bound) pairs, then length-prefixed elements. ok is false
// unless the framing consumes v exactly.
func binaryArray(v []byte) ([]binElem, bool) {
	if len(v) < 12 {
		return nil, false
	}
	ndim := binary.BigEndian.Uint32(v)
	flags := binary.BigEndian.Uint32(v[4:])
	elem := binary.BigEndian.Uint32(v[8:])
	if ndim > 6 || flags > 1 {
		return nil, false
	}
	p := 12
	n := 1
	for range ndim {
		if len(v) < p+8 {
			return nil, false
		}
		size := int(int32(binary.BigEndian.Uint32(v[p:])))
		if size < 0 || size > len(v) {
			return nil, false
		}
		n *= size
		if n > len(v) {
			return nil, false
		}
		p += 8
	}
	if ndim == 0 {
		n = 0
	}
	out := make([]binElem, 0, n)
	for range n {
		e, q, ok := lengthPrefixed(v, p)
		if !ok {
			return nil, false
		}
		out = append(out, binElem{elem, e})
		p = q
	}
	return out, p == len(v)
}

// binaryRecord splits a record in binary format: a field count, then for
// each field its type OID and a length-prefixed value.
func binaryRecord(v []byte) ([]binElem, bool) {
	if len(v) < 4 {
		return nil, false
	}
	n := int(int32(binary.BigEndian.Uint32(v)))
	if n < 0 || n > len(v) {
		return nil, false
	}
	p := 4
	out := make([]binElem, 0, n)
	for range n {
		if len(v) < p+4 {
			return nil, false
		}
		oid := binary.BigEndian.Uint32(v[p:])
		e, q, ok := lengthPrefixed(v, p+4)
		if !ok {
			return nil, false
		}
		out = append(out, binElem{oid, e})
		p = q
	}
	return out, p == len(v)
}

// binaryPairs splits key-value pairs in binary format, as hstore sends
// them: a pair count, then each key and value length-prefixed (a value may
// be NULL). The elements have no type (0: scanned raw only).
func binaryPairs(v []byte) ([]binElem, bool) {
	if len(v) < 4 {
		return nil, false
	}
	n := int(int32(binary.BigEndian.Uint32(v)))
	if n < 0 || n > len(v)/8 {
		return nil, false
	}
	p := 4
	out := make([]binElem, 0, 2*n)
	for range 2 * n {
		e, q, ok := lengthPrefixed(v, p)
		if !ok {
			return nil, false
		}
		out = append(out, binElem{0, e})
		p = q
	}
	return out, p == len(v)
}

func lengthPrefixed(v []byte, p int) (elem []byte, next int, ok bool) {
	if len(v) < p+4 {
		return nil, 0, false
	}
	l := int(int32(binary.BigEndian.Uint32(v[p:])))
	p += 4
	if l == -1 {
		return nil, p, true
	}
	if l < 0 || l > len(v)-p {
		return nil, 0, false
	}
	return v[p : p+l : p+l], p + l, true
}

// numericText renders a numeric in binary format (ndigits, weight, sign,
// dscale, base-10000 digits) as decimal text. Runs of zero groups the
// digits do not cover (up to 32767 groups past the last digit, or before
// the first one after the point) are cut to maxZeroGroups groups: a
// valid 10-byte numeric can print 131,072 digits, and an array of them
// would otherwise make the gateway render gigabytes. A detector sees the
// same digits with the same neighbours.
func numericText(v []byte) (string, bool) {
	if len(v) < 8 {
		return "", false
	}
	nd := int(int16(binary.BigEndian.Uint16(v)))
	weight := int(int16(binary.BigEndian.Uint16(v[2:])))
	sign := binary.BigEndian.Uint16(v[4:])
	if nd < 0 || len(v) != 8+2*nd || sign > 0x4000 && sign != 0xC000 && sign != 0xD000 && sign != 0xF000 {
		return "", false
	}
	for i := range nd {
		if binary.BigEndian.Uint16(v[8+2*i:]) > 9999 {
			return "", false // not a base-10000 digit: not a numeric
		}
	}
	var b strings.Builder
	group := func(i int, pad bool) {
		d := 0
		if i >= 0 && i < nd {
			d = int(binary.BigEndian.Uint16(v[8+2*i:]))
		}
		t := strconv.Itoa(d)
		if pad {
			b.WriteString("0000"[len(t):])
		}
		b.WriteString(t)
	}
	if sign == 0x4000 {
		b.WriteByte('-')
	}
	if weight < 0 {
		b.WriteByte('0')
	}
	for i := 0; i <= weight; i++ {
		if i >= nd && i > 0 && weight-i+1 > maxZeroGroups {
			i = weight - maxZeroGroups + 1 // zero groups: keep the last few
		}
		group(i, i > 0)
	}
	if nd > weight+1 {
		b.WriteByte('.')
		for i := weight + 1; i < nd; i++ {
			if i < -maxZeroGroups {
				i = -maxZeroGroups // leading zero groups: keep the last few
			}
			group(i, true)
		}
	}
	return b.String(), true
}

// maxZeroGroups is how many runs of four zeros numericText keeps of a run
// the digits do not cover.
const maxZeroGroups = 5

// hexFinds scans the bytes of every \x hex run of text: bytea's output,
// alone or inside an array or a record.
func hexFinds(s *masking.Scanner, v []byte) bool {
	for {
		i := bytes.Index(v, []byte(`\x`))
		if i < 0 {
			return false
		}
		v = v[i+2:]
		j := 0
		for j < len(v) && isHex(v[j]) {
			j++
		}
		b := make([]byte, j/2)
		if _, err := hex.Decode(b, v[:j&^1]); err == nil && len(b) > 0 && s.Finds(b) {
			return true
		}
		v = v[j:]
	}
}

// octalFinds scans the bytes of bytea's escape output (bytea_output
// 'escape': \ooo for each byte outside printable ASCII, \\ for a
// backslash), alone or inside the quoting of arrays and records, which
// doubles the backslashes at each level.
func octalFinds(s *masking.Scanner, v []byte) bool {
	if bytes.IndexByte(v, '\\') < 0 {
		return false
	}
	for range maxEncDepth {
		if d, ok := unescapeOctal(v); ok && s.Finds(d) {
			return true
		}
		u := unquoteLevel(v)
		if bytes.Equal(u, v) {
			return false
		}
		v = u
	}
	return false
}

// unescapeOctal decodes \ooo and \\; ok reports an \ooo.
func unescapeOctal(v []byte) (out []byte, ok bool) {
	out = make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+3 < len(v) && isOctal(v[i+1]) && isOctal(v[i+2]) && isOctal(v[i+3]) && v[i+1] <= '3' {
			out = append(out, (v[i+1]-'0')<<6|(v[i+2]-'0')<<3|(v[i+3]-'0'))
			i += 3
			ok = true
			continue
		}
		if v[i] == '\\' && i+1 < len(v) && v[i+1] == '\\' {
			i++
		}
		out = append(out, v[i])
	}
	return out, ok
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// jsonEscapesFind scans JSON text with its \uXXXX escapes decoded
// ("\u0034111..." is "4111...", "\uff14..." the fullwidth digit the
// detectors fold to 4; a surrogate pair is one character).
func jsonEscapesFind(s *masking.Scanner, v []byte) bool {
	i := bytes.Index(v, []byte(`\u`))
	if i < 0 {
		return false
	}
	out := make([]byte, 0, len(v))
	out = append(out, v[:i]...)
	for ; i < len(v); i++ {
		if r, n := jsonEscape(v[i:]); n > 0 {
			out = utf8.AppendRune(out, r)
			i += n - 1
			continue
		}
		if v[i] == '\\' && i+1 < len(v) {
			out = append(out, v[i], v[i+1])
			i++
			continue
		}
		out = append(out, v[i])
	}
	return s.Finds(out)
}

// jsonEscape decodes the \uXXXX escape (or surrogate pair of escapes) at
// the start of v; n is 0 when there is none.
func jsonEscape(v []byte) (r rune, n int) {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return 0, false
		}
		c, err := strconv.ParseUint(string(b[2:6]), 16, 16)
		return rune(c), err == nil
	}
	r, ok := hex4(v)
	if !ok {
		return 0, 0
	}
	if utf16.IsSurrogate(r) {
		if lo, ok := hex4(v[6:]); ok {
			if c := utf16.DecodeRune(r, lo); c != utf8.RuneError {
				return c, 12
			}
		}
	}
	return r, 6
}

// quotedEscapesFind looks for \uXXXX escapes of JSON values inside array
// and record text, where each level of quoting doubles backslashes and
// quotes ("{\"\\\\u0034111...\"}"): it removes one level at a time and
// scans with the escapes decoded.
func quotedEscapesFind(s *masking.Scanner, v []byte) bool {
	if !bytes.Contains(v, []byte(`\\u`)) {
		return false
	}
	for range maxEncDepth {
		u := unquoteLevel(v)
		if bytes.Equal(u, v) {
			return false
		}
		if jsonEscapesFind(s, u) {
			return true
		}
		v = u
	}
	return false
}

// unquoteLevel undoes one level of array or record quoting: a backslash
// escapes the next byte, and a doubled quote is one quote.
func unquoteLevel(v []byte) []byte {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
		case v[i] == '"' && i+1 < len(v) && v[i+1] == '"':
			i++
		}
		out = append(out, v[i])
	}
	return out
}

// xmlRefsFind scans XML text with its numeric character references
// decoded ("&#52;111..." is "4111...", "&#xFF14;" the fullwidth digit the
// detectors fold to 4).
func xmlRefsFind(s *masking.Scanner, v []byte) bool {
	i := bytes.Index(v, []byte("&#"))
	if i < 0 {
		return false
	}
	out := make([]byte, 0, len(v))
	out = append(out, v[:i]...)
	for i < len(v) {
		if v[i] == '&' && i+2 < len(v) && v[i+1] == '#' {
			if end := bytes.IndexByte(v[i+2:], ';'); end > 0 && end <= 8 {
				num, base := string(v[i+2:i+2+end]), 10
				if num[0] == 'x' || num[0] == 'X' {
					num, base = num[1:], 16
				}
				if c, err := strconv.ParseUint(num, base, 32); err == nil && c <= utf8.MaxRune {
					out = utf8.AppendRune(out, rune(c))
					i += end + 3
					continue
				}
			}
		}
		out = append(out, v[i])
		i++
	}
	return s.Finds(out)
}

// moneyDigits is money text (one value, or an array of them) with the digit
// group separators removed: "$4,111,111,111,111,111.00" reads as the card
// 4111111111111111. A separator is a non-digit character (',', '.', a
// space, an apostrophe, a no-break space in some locales) between a digit
// and exactly three digits; the decimal point before two (or no) digits
// stays.
func moneyDigits(v []byte) []byte {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); {
		_, n := utf8.DecodeRune(v[i:])
		if i > 0 && isDigitByte(v[i-1]) && !isDigitByte(v[i]) && groupOfThree(v[i+n:]) {
			i += n
			continue
		}
		out = append(out, v[i:i+n]...)
		i += n
	}
	return out
}

// quotedMoney is moneyDigits for money inside the text of a record or an
// array of records: the quoted elements, each on a line of its own (a
// money amount of a card's size always has a separator that makes record
// and array output quote it: a comma, a space, a decimal point or comma
// with a currency). Elements outside quotes are not joined.
func quotedMoney(v []byte) []byte {
	var out []byte
	for i := 0; i < len(v); i++ {
		if v[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(v) && v[j] != '"' {
			if v[j] == '\\' {
				j++
			}
			j++
		}
		j = min(j, len(v))
		out = append(append(out, moneyDigits(v[i+1:j])...), '\n')
		i = j
	}
	return out
}

// groupOfThree reports whether v starts with exactly three digits.
func groupOfThree(v []byte) bool {
	return len(v) >= 3 && isDigitByte(v[0]) && isDigitByte(v[1]) && isDigitByte(v[2]) && (len(v) == 3 || !isDigitByte(v[3]))
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

// Integral float8 values from minFloatDigits up are written out in full by
// floatDigits: float8 holds any integer of up to 15 digits, and most of 16,
// exactly, and prints them with an exponent ("4.111111111111111e+15"). A
// fraction, or a smaller number, is not a card or an account number.
const minFloatDigits = 1e12

// floatDigits appends f written out without an exponent when it is an
// integer of 13 to 20 digits.
func floatDigits(b []byte, f float64) []byte {
	if a := math.Abs(f); a < minFloatDigits || a >= 1e20 || a != math.Trunc(a) {
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// floatsFind scans the numbers with an exponent in the text of a value
// (float8, an array or a record holding one, JSON) written out in full
// (floatDigits).
func floatsFind(s *masking.Scanner, v []byte) bool {
	if !bytes.ContainsAny(v, "eE") {
		return false
	}
	var out []byte
	for i := 0; i < len(v); {
		if !isDigitByte(v[i]) {
			i++
			continue
		}
		j := i
		for j < len(v) && (isDigitByte(v[j]) || v[j] == '.' || v[j] == 'e' || v[j] == 'E' ||
			(v[j] == '+' || v[j] == '-') && (v[j-1] == 'e' || v[j-1] == 'E')) {
			j++
		}
		if f, err := strconv.ParseFloat(string(v[i:j]), 64); err == nil && bytes.ContainsAny(v[i:j], "eE") {
			if t := floatDigits(out, f); len(t) > len(out) {
				out = append(t, ' ')
			}
		}
		i = j
	}
	return len(out) > 0 && s.Finds(out)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// A tsvector holds a document's words as sorted lexemes with their
// positions: "card 4111 1111 1111 1111" is '1111':3,4,5 '4111':2 'card':1.
// tsvectorText and tsvectorBinary put the lexemes back in document order,
// one space apart ("card 4111 1111 1111 1111"), for the detectors; lexemes
// without positions follow, each alone.

// maxTSPositions bounds the positions put back in order (PostgreSQL keeps
// at most 256 per lexeme, numbered below 16384).
const maxTSPositions = 1 << 16

type tsWord struct {
	pos int
	lex []byte
}

// tsDocument joins words in position order.
func tsDocument(words []tsWord, loose [][]byte) []byte {
	sort.SliceStable(words, func(i, j int) bool { return words[i].pos < words[j].pos })
	var out []byte
	for _, w := range words {
		out = append(append(out, w.lex...), ' ')
	}
	for _, l := range loose {
		out = append(append(out, '\n'), l...)
	}
	return out
}

// tsvectorText reads tsvector text: 'lexeme':1,3B 'other' ..., with ”
// and backslash escapes inside the quotes.
func tsvectorText(v []byte) []byte {
	var words []tsWord
	var loose [][]byte
	for i := 0; i < len(v); {
		if v[i] != '\'' {
			i++
			continue
		}
		var lex []byte
		for i++; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) {
				i++
			} else if v[i] == '\'' {
				if i+1 < len(v) && v[i+1] == '\'' {
					i++
				} else {
					break
				}
			}
			lex = append(lex, v[i])
		}
		i++
		if i >= len(v) || v[i] != ':' {
			loose = append(loose, lex)
			continue
		}
		for i < len(v) && (v[i] == ':' || v[i] == ',') {
			i++
			p := 0
			for i < len(v) && isDigitByte(v[i]) {
				p = min(p*10+int(v[i]-'0'), 1<<20)
				i++
			}
			for i < len(v) && 'A' <= v[i] && v[i] <= 'D' {
				i++
			}
			if len(words) < maxTSPositions {
				words = append(words, tsWord{p, lex})
			}
		}
	}
	return tsDocument(words, loose)
}

// tsvectorBinary reads tsvector in binary format: a lexeme count, then for
// each lexeme its text ended by a zero byte, a position count and the
// positions (16 bits, the weight in the top two).
func tsvectorBinary(v []byte) ([]byte, bool) {
	if len(v) < 4 {
		return nil, false
	}
	n := int(int32(binary.BigEndian.Uint32(v)))
	if n < 0 || n > len(v) {
		return nil, false
	}
	var words []tsWord
	var loose [][]byte
	p := 4
	for range n {
		z := bytes.IndexByte(v[p:], 0)
		if z < 0 || p+z+3 > len(v) {
			return nil, false
		}
		lex := v[p : p+z]
		p += z + 1
		np := int(binary.BigEndian.Uint16(v[p:]))
		p += 2
		if p+2*np > len(v) {
			return nil, false
		}
		if np == 0 {
			loose = append(loose, lex)
		}
		for k := range np {
			if len(words) < maxTSPositions {
				words = append(words, tsWord{int(binary.BigEndian.Uint16(v[p+2*k:]) & 0x3fff), lex})
			}
		}
		p += 2 * np
	}
	return tsDocument(words, loose), p == len(v)
}
