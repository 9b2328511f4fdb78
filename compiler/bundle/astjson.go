package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// maxJSONDepth bounds the nesting of a JSON document, as encoding/json does.
const maxJSONDepth = 10000

// parseJSONValue decodes one JSON document straight into an OPA AST value,
// the value ast.InterfaceToValue gives for util.Unmarshal's result (numbers
// kept as written, invalid UTF-8 replaced as encoding/json does), without
// the intermediate map[string]any. Repeated short strings (object keys,
// file names) share one term.
func parseJSONValue(data []byte) (ast.Value, error) {
	p := &jsonParser{data: data, src: string(data), strings: map[string]*ast.Term{}}
	p.space()
	t, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, p.errorf("unexpected data after the document")
	}
	return t.Value, nil
}

type jsonParser struct {
	data []byte
	// src is data as one string: plain strings are substrings of it, so
	// they cost no allocation of their own.
	src     string
	pos     int
	strings map[string]*ast.Term
	// items and elems are stacks shared by nested objects and arrays, so
	// collecting members does not grow a slice per value.
	items []([2]*ast.Term)
	elems []*ast.Term
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("decoding JSON at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (*ast.Term, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("nested too deeply")
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return p.literal()
	}
}

func (p *jsonParser) object(depth int) (*ast.Term, error) {
	p.pos++ // {
	base := len(p.items)
	defer func() { p.items = p.items[:base] }()
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return ast.ObjectTerm(), nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("expected an object key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("expected ':'")
		}
		p.pos++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, ast.Item(k, v))
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end of input in an object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return ast.NewTerm(newObject(p.items[base:])), nil
		default:
			return nil, p.errorf("expected ',' or '}'")
		}
	}
}

// newObject builds an object in one allocation block (ast.NewObject), unless
// a key repeats: NewObject would keep both, so the object is then built by
// inserting, which keeps the last value, as encoding/json does.
func newObject(items [][2]*ast.Term) ast.Object {
	if hasDuplicateKey(items) {
		obj := ast.NewObjectWithCapacity(len(items))
		for _, it := range items {
			obj.Insert(it[0], it[1])
		}
		return obj
	}
	return ast.NewObject(items...)
}

// hasDuplicateKey compares small objects' keys pairwise and indexes large
// ones. Keys are strings.
func hasDuplicateKey(items [][2]*ast.Term) bool {
	key := func(i int) ast.String { return items[i][0].Value.(ast.String) }
	if len(items) <= 16 {
		for i := range items {
			for j := i + 1; j < len(items); j++ {
				if key(i) == key(j) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[ast.String]struct{}, len(items))
	for i := range items {
		if _, dup := seen[key(i)]; dup {
			return true
		}
		seen[key(i)] = struct{}{}
	}
	return false
}

func (p *jsonParser) array(depth int) (*ast.Term, error) {
	p.pos++ // [
	base := len(p.elems)
	defer func() { p.elems = p.elems[:base] }()
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return ast.ArrayTerm(), nil
	}
	for {
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.elems = append(p.elems, v)
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end of input in an array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			// NewArray keeps its slice: give it one of its own.
			return ast.ArrayTerm(append([]*ast.Term(nil), p.elems[base:]...)...), nil
		default:
			return nil, p.errorf("expected ',' or ']'")
		}
	}
}

// str reads a string. Plain ones (no escape, valid UTF-8) are sliced out;
// others are decoded by encoding/json so every rule of the format holds.
func (p *jsonParser) str() (*ast.Term, error) {
	start := p.pos
	p.pos++ // opening quote
	plain := true
	for {
		if p.pos >= len(p.data) {
			return nil, p.errorf("unterminated string")
		}
		c := p.data[p.pos]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			p.pos += 2
			continue
		}
		if c < 0x20 {
			return nil, p.errorf("control character in a string")
		}
		if c >= utf8.RuneSelf {
			plain = false
		}
		p.pos++
	}
	p.pos++ // closing quote
	raw := p.data[start+1 : p.pos-1]
	var s string
	if plain || utf8.Valid(raw) && !containsByte(raw, '\\') {
		s = p.src[start+1 : p.pos-1]
	} else if err := json.Unmarshal(p.data[start:p.pos], &s); err != nil {
		return nil, p.errorf("bad string: %v", err)
	}
	if len(s) > 64 {
		return ast.StringTerm(s), nil
	}
	if t, ok := p.strings[s]; ok {
		return t, nil
	}
	t := ast.StringTerm(s)
	p.strings[s] = t
	return t, nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// number checks the JSON number grammar and keeps the literal as written.
func (p *jsonParser) number() (*ast.Term, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.errorf("bad number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("bad number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("bad number")
		}
	}
	return ast.NewTerm(ast.Number(p.data[start:p.pos])), nil
}

func (p *jsonParser) literal() (*ast.Term, error) {
	rest := p.data[p.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("true")):
		p.pos += 4
		return ast.BooleanTerm(true), nil
	case bytes.HasPrefix(rest, []byte("false")):
		p.pos += 5
		return ast.BooleanTerm(false), nil
	case bytes.HasPrefix(rest, []byte("null")):
		p.pos += 4
		return ast.NullTerm(), nil
	}
	return nil, p.errorf("expected a value")
}
