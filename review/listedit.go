package review

import (
	"bytes"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// listItem is one element of a tuple expression with the tokens that belong
// to it: the comments on the lines above it, the value, its comma and the
// comment or newline that ends its line.
type listItem struct {
	lead     hclwrite.Tokens
	value    hclwrite.Tokens
	comma    *hclwrite.Token
	trailing hclwrite.Tokens
	// key is the string literal's value or the traversal's text
	// ("role.reader"); literal is false for anything else.
	key     string
	literal bool
}

// tupleList is a parsed `[ ... ]` expression.
type tupleList struct {
	open  hclwrite.Tokens // "[" and the newline after it
	items []*listItem
	close hclwrite.Tokens // comments after the last item, and "]"
	multi bool
}

// parseTuple splits an expression's tokens into list items. It returns
// false when the expression is not a single tuple constructor, such as a
// reference to a local or a function call.
func parseTuple(toks hclwrite.Tokens) (*tupleList, bool) {
	if len(toks) < 2 || toks[0].Type != hclsyntax.TokenOBrack || toks[len(toks)-1].Type != hclsyntax.TokenCBrack {
		return nil, false
	}
	l := &tupleList{open: hclwrite.Tokens{toks[0]}}
	body := toks[1 : len(toks)-1]
	for _, t := range body {
		if t.Type == hclsyntax.TokenNewline || t.Type == hclsyntax.TokenComment {
			l.multi = true
		}
	}
	i := 0
	if i < len(body) && body[i].Type == hclsyntax.TokenNewline {
		l.open = append(l.open, body[i])
		i++
	}
	for i < len(body) {
		it := &listItem{}
		for i < len(body) && (body[i].Type == hclsyntax.TokenComment || body[i].Type == hclsyntax.TokenNewline) {
			it.lead = append(it.lead, body[i])
			i++
		}
		if i == len(body) { // comments before "]"
			l.close = append(l.close, it.lead...)
			break
		}
		depth := 0
		for i < len(body) {
			t := body[i]
			switch t.Type {
			case hclsyntax.TokenOBrack, hclsyntax.TokenOBrace, hclsyntax.TokenOParen, hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
				depth++
			case hclsyntax.TokenCBrack, hclsyntax.TokenCBrace, hclsyntax.TokenCParen, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
				depth--
			}
			if depth == 0 && (t.Type == hclsyntax.TokenComma || t.Type == hclsyntax.TokenNewline || t.Type == hclsyntax.TokenComment) {
				break
			}
			it.value = append(it.value, t)
			i++
		}
		if len(it.value) == 0 {
			return nil, false
		}
		if i < len(body) && body[i].Type == hclsyntax.TokenComma {
			it.comma = body[i]
			i++
		}
		if i < len(body) && (body[i].Type == hclsyntax.TokenComment || body[i].Type == hclsyntax.TokenNewline) {
			it.trailing = hclwrite.Tokens{body[i]}
			i++
		}
		it.key, it.literal = itemKey(it.value)
		l.items = append(l.items, it)
	}
	l.close = append(l.close, toks[len(toks)-1])
	return l, true
}

// itemKey reads a plain string literal or a traversal such as role.reader.
func itemKey(v hclwrite.Tokens) (string, bool) {
	if len(v) == 3 && v[0].Type == hclsyntax.TokenOQuote && v[1].Type == hclsyntax.TokenQuotedLit && v[2].Type == hclsyntax.TokenCQuote {
		b := v[1].Bytes
		if bytes.ContainsAny(b, `\`) || bytes.Contains(b, []byte("${")) || bytes.Contains(b, []byte("%{")) {
			return "", false
		}
		return string(b), true
	}
	var sb strings.Builder
	for i, t := range v {
		want := hclsyntax.TokenIdent
		if i%2 == 1 {
			want = hclsyntax.TokenDot
		}
		if t.Type != want || (i > 0 && t.SpacesBefore != 0) {
			return "", false
		}
		sb.Write(t.Bytes)
	}
	return sb.String(), len(v)%2 == 1
}

// edit removes the items for which replace returns an empty, non-nil slice
// and replaces those for which it returns values; nil keeps an item.
// It returns the new tokens and whether anything changed.
func (l *tupleList) edit(replace func(key string) []string) (hclwrite.Tokens, bool) {
	var kept []*listItem
	changed := false
	for _, it := range l.items {
		if !it.literal {
			kept = append(kept, it)
			continue
		}
		vals := replace(it.key)
		switch {
		case vals == nil:
			kept = append(kept, it)
		case len(vals) == 0:
			changed = true
		default:
			changed = true
			kept = append(kept, l.expand(it, vals))
		}
	}
	if !changed {
		return nil, false
	}
	out := hclwrite.Tokens{l.open[0]}
	if len(kept) == 0 {
		c := *l.close[len(l.close)-1]
		c.SpacesBefore = 0
		return append(out, &c), true
	}
	out = append(out, l.open[1:]...)
	origLast := l.items[len(l.items)-1]
	for i, it := range kept {
		value := it.value
		if i == 0 && it != l.items[0] && !l.multi {
			// Take the first item's spacing: "[a" stays "[a", "[ a" stays "[ a".
			first := *it.value[0]
			first.SpacesBefore = l.items[0].value[0].SpacesBefore
			value = append(hclwrite.Tokens{&first}, it.value[1:]...)
		}
		out = append(out, it.lead...)
		out = append(out, value...)
		comma := it.comma
		if i == len(kept)-1 {
			comma = nil
			if origLast.comma != nil {
				comma = &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte{','}}
			}
		}
		if comma != nil {
			out = append(out, comma)
		}
		trailing := it.trailing
		switch {
		case l.multi && len(trailing) == 0 && i < len(kept)-1:
			trailing = hclwrite.Tokens{{Type: hclsyntax.TokenNewline, Bytes: []byte{'\n'}}}
		case i == len(kept)-1 && len(origLast.trailing) == 0 && len(trailing) == 1 && trailing[0].Type == hclsyntax.TokenNewline:
			trailing = nil // "]" stays on the last element's line
		}
		out = append(out, trailing...)
	}
	return append(out, l.close...), true
}

// expand writes vals in place of one item, one per line in a multi-line
// list, keeping the item's comments.
func (l *tupleList) expand(it *listItem, vals []string) *listItem {
	indent := it.value[0].SpacesBefore
	var v hclwrite.Tokens
	for i, s := range vals {
		toks := hclwrite.TokensForValue(cty.StringVal(s))
		toks[0].SpacesBefore = 1
		if i == 0 {
			toks[0].SpacesBefore = indent
		} else {
			v = append(v, &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte{','}})
			if l.multi {
				v = append(v, &hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte{'\n'}})
				toks[0].SpacesBefore = indent
			}
		}
		v = append(v, toks...)
	}
	return &listItem{lead: it.lead, value: v, comma: it.comma, trailing: it.trailing, key: it.key, literal: true}
}
