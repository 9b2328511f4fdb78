package masking

import (
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Text holding non-ASCII characters is searched twice: as it is, and folded
// to what a reader sees. Folding maps every decimal digit of any script
// (fullwidth ４, Arabic-Indic ٤, Devanagari ४ ...) to its ASCII digit, every
// space separator (no-break, thin, figure, ideographic) to ' ', every dash
// (hyphen, non-breaking hyphen, en and em dash, minus sign) to '-', the
// fullwidth forms of ASCII (Ａ, ＠, ．) to ASCII, and drops what has no
// width of its own: format characters (zero-width space and joiners, word
// joiner, soft hyphen, byte order mark, direction marks) and combining
// marks. "４１１１\u200b1111 1111 1111" is then the card it reads as.
// Findings in the folded text are mapped back to the characters they came
// from; a masking method is given the folded text of a finding.

// fold says what folding does with one character.
type fold uint8

const (
	foldKeep  fold = iota // unchanged
	foldASCII             // replaced by one ASCII byte
	foldDrop              // removed
)

// foldsBMP marks the characters below U+10000 that foldRune changes, so
// that text of other scripts (CJK, Cyrillic, accented Latin) is passed over
// with one bit test per character instead of table searches. Built from
// the same tables foldRune searches, on first use.
var foldsBMP = sync.OnceValue(func() *[0x10000 / 64]uint64 {
	var m [0x10000 / 64]uint64
	set := func(lo, hi, stride int) {
		for r := lo; r <= hi && r < 0x10000; r += stride {
			m[r/64] |= 1 << (r % 64)
		}
	}
	set(0xFF01, 0xFF5E, 1)
	set(0x2212, 0x2212, 1)
	set(0xFE63, 0xFE63, 1)
	for _, t := range []*unicode.RangeTable{unicode.Nd, unicode.Zs, unicode.Pd, unicode.Cf, unicode.Mn, unicode.Me} {
		for _, rg := range t.R16 {
			set(int(rg.Lo), int(rg.Hi), int(rg.Stride))
		}
	}
	return &m
})

// foldRune folds one non-ASCII character.
func foldRune(r rune) (byte, fold) {
	if r < 0x10000 && foldsBMP()[r/64]&(1<<(r%64)) == 0 {
		return 0, foldKeep
	}
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // fullwidth ASCII
		return byte(r - 0xFEE0), foldASCII
	case r == 0x2212 || r == 0xFE63: // minus sign, small hyphen-minus
		return '-', foldASCII
	case r == utf8.RuneError:
		return 0, foldKeep
	case unicode.IsDigit(r):
		return '0' + digitValue(r), foldASCII
	case unicode.Is(unicode.Zs, r):
		return ' ', foldASCII
	case unicode.Is(unicode.Pd, r):
		return '-', foldASCII
	case unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me):
		return 0, foldDrop
	}
	return 0, foldKeep
}

// digitValue is the value of a decimal digit (Unicode category Nd). The
// standard encodes every script's digits as one run from zero to nine, so
// the value is the offset from the start of the run, modulo ten within
// the table's ranges (which join adjacent runs).
func digitValue(r rune) byte {
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10)
		}
	}
	return 0
}

// mayFold reports whether normalize could change s: a quick look at its
// non-ASCII characters, decoded without validation (a wrong guess only
// costs normalize's own pass; four-byte characters always take it).
func mayFold(s string) bool {
	m := foldsBMP()
	for i := 0; i < len(s); i++ {
		// skip ASCII eight bytes at a time
		for i+8 <= len(s) && (uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56)&0x8080808080808080 == 0 {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			continue
		}
		var r rune
		switch {
		case c >= 0xF0:
			return true
		case c >= 0xE4 && c <= 0xE9:
			i += 2 // U+4000..U+9FFF, CJK ideographs: nothing folds
			continue
		case c >= 0xE0 && i+2 < len(s):
			r = rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
			i += 2
		case c >= 0xC0 && i+1 < len(s):
			r = rune(c&0x1F)<<6 | rune(s[i+1]&0x3F)
			i++
		default:
			return true
		}
		if m[r/64]&(1<<(r%64)) != 0 {
			return true
		}
	}
	return false
}

// offsetMap maps offsets of folded text back to the text it was folded
// from: each entry says that from folded offset at on, the original is
// delta bytes further. It holds one entry per change of the difference (a
// folded or dropped character), not one per byte.
type offsetMap []struct{ at, delta int }

// orig is the offset in the original text of folded offset i. A finding
// [a, b) of the folded text is [orig(a), orig(b)) of the original, which
// takes in the dropped characters after it.
func (m offsetMap) orig(i int) int {
	k := sort.Search(len(m), func(k int) bool { return m[k].at > i })
	if k == 0 {
		return i
	}
	return i + m[k-1].delta
}

// normalize folds s and returns the folded text and its offset map. ok is
// false, and out nil, when folding changes nothing: then nothing is
// allocated.
func normalize(s string) (out []byte, m offsetMap, ok bool) {
	if !mayFold(s) {
		return nil, nil, false
	}
	delta := 0
	note := func(o int) { // the next byte of out comes from s[o]
		if d := o - len(out); d != delta {
			m = append(m, struct{ at, delta int }{len(out), d})
			delta = d
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if out != nil {
				note(i)
				out = append(out, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b, how := foldRune(r)
		if how != foldKeep && out == nil {
			out = make([]byte, i, len(s))
			copy(out, s[:i])
		}
		switch {
		case out == nil:
		case how == foldASCII:
			note(i)
			out = append(out, b)
		case how == foldKeep:
			note(i)
			out = append(out, s[i:i+n]...)
		}
		i += n
	}
	if out == nil {
		return nil, nil, false
	}
	note(len(s))
	return out, m, true
}

// folded is what a masking method is given for a finding v: v folded.
func folded(v []byte) []byte {
	for _, c := range v {
		if c >= utf8.RuneSelf {
			if out, _, ok := normalize(string(v)); ok {
				return out
			}
			break
		}
	}
	return v
}
