package pgproxy

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

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
// the elements of binary arrays, records and ranges (whose length prefixes
// may glue a letter to a number), binary integers and numerics (digits a
// text scan would see), jsonb's version byte, \uXXXX escapes of JSON text
// (also inside the quoting of array and record text), XML character
// references, and the hex output of bytea. The caller has scanned the raw
// bytes.
func encodedFinds(s *masking.Scanner, oid uint32, format int16, v []byte) bool {
	if format == 0 {
		return hexFinds(s, v) || (oid == oidJSON || oid == oidJSONB) && jsonEscapesFind(s, v) ||
			quotedEscapesFind(s, v) || (oid == oidXML || oid == oidXMLs) && xmlRefsFind(s, v)
	}
	return binaryFinds(s, oid, v, 0)
}

// binaryFinds is encodedFinds for a value in binary format whose raw bytes
// were scanned.
func binaryFinds(s *masking.Scanner, oid uint32, v []byte, depth int) bool {
	var buf [20]byte
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
	case oidJSONB:
		return len(v) > 0 && (s.Finds(v[1:]) || jsonEscapesFind(s, v[1:]))
	case oidJSON:
		return jsonEscapesFind(s, v)
	case oidXML:
		return xmlRefsFind(s, v)
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
	// Another type: an array or a record when its framing parses exactly;
	// each element is then scanned alone, raw and decoded.
	elems, ok := binaryArray(v)
	if !ok {
		elems, ok = binaryRecord(v)
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

// jsonEscapesFind scans JSON text with its \uXXXX escapes of ASCII
// characters decoded ("\u0034111..." is "4111...").
func jsonEscapesFind(s *masking.Scanner, v []byte) bool {
	i := bytes.Index(v, []byte(`\u`))
	if i < 0 {
		return false
	}
	out := make([]byte, 0, len(v))
	out = append(out, v[:i]...)
	for ; i < len(v); i++ {
		if v[i] == '\\' && i+5 < len(v) && v[i+1] == 'u' {
			if c, err := strconv.ParseUint(string(v[i+2:i+6]), 16, 16); err == nil && c < 0x80 {
				out = append(out, byte(c))
				i += 5
				continue
			}
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

// xmlRefsFind scans XML text with its numeric character references of
// ASCII characters decoded ("&#52;111..." is "4111...").
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
				if c, err := strconv.ParseUint(num, base, 8); err == nil && c < 0x80 {
					out = append(out, byte(c))
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
