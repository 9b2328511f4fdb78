package pgsql

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

var regexAccepted = []string{
	"a", "abc", "^a$", "[0-9]", "[a-z0-9_.-]+@[a-z]+", `^(.)[^@]*@`, "@(.*)$", `\d{3}-\d{2}-\d{4}`,
	`(?:ab|cd)+?`, `[a\]]`, "[-a]", "[a-]", `[\d\w\s]`, "[[:alpha:]][[:digit:]]*", "a{0}",
	"a{2,}", "a{0,255}", "(a{30}){30}", `\.\-\\\$`, "é+", "x|y|z", "(a|b)*c", "a??", `\w+\s\S\D\W`,
	"[A-Z][a-z]+", "a^b", ".{255}", "(\\w{31}){31}", "([[:alpha:]]{31}){31}", "((a|b){5}){5}",
}

var regexRefused = []string{
	"", "(", ")", "a**", "*a", "a{256}", "a{2,1}", "(a{1,255}){1,255}", "[z-a]", `\q`, "[[:foo:]]", "()",
	"(|a)", "a|", "[^]a]", "^*", "a{,3}", "{", "a{", "}", "]", "[]a]", "[a-é]", "[a-Z]", "(?=a)", "(?i)a", `\1`,
	`a\`, "[a", "[[.a.]]", "[[=a=]]", `\x41`, `\u0041`, `\b`, `\y`, `\A`, "a{1,2,3}", `[\D]`,
	"(a{32}){32}", strings.Repeat("a", 257), "a+*", "a?{2}",
}

// regexFailing are patterns the server does not compile (regexRefused
// holds more, some of which it does: the check is short, not complete).
var regexFailing = []string{"(", ")", "a**", "*a", "a{256}", "a{2,1}", "(a{1,255}){1,255}", "[z-a]", `\q`,
	"[[:foo:]]", "^*", `a\`, "[a", "a|*"}

func TestRegexPattern(t *testing.T) {
	for _, p := range regexAccepted {
		if !regexPattern(p) {
			t.Errorf("regexPattern(%q) = false, want true", p)
		}
	}
	for _, p := range regexRefused {
		if regexPattern(p) {
			t.Errorf("regexPattern(%q) = true, want false", p)
		}
	}
	for _, f := range []string{"", "g", "gi", "icnspw"} {
		if !regexFlags(f, true) {
			t.Errorf("regexFlags(%q, true) = false", f)
		}
	}
	for _, f := range []string{"x", "b", "e", "q", "t", "gz", "1"} {
		if regexFlags(f, true) {
			t.Errorf("regexFlags(%q, true) = true", f)
		}
	}
	if regexFlags("g", false) {
		t.Error(`regexFlags("g", false) = true: regexp_match refuses g`)
	}
}

// regexPieces generate patterns of every construct regexPattern knows,
// and some it refuses.
var regexPieces = []string{
	"a", "Z", "é", "0", ".", "^", "$", "|", "(", ")", "(?:", "[", "]", "[^", "-", "a-z", "A-Z", "0-9",
	"[:alpha:]", "[:punct:]", `\d`, `\w`, `\s`, `\D`, `\W`, `\S`, `\.`, `\\`, `\]`, `\-`, "*", "+", "?",
	"{2}", "{0,3}", "{1,}", "{255}", "{30}", "*?", "+?", "??", "{2}?", " ", "@", "#", "{", "}",
}

// TestRegexLiteralsAgainstPostgres: every pattern regexPattern accepts,
// listed or generated, compiles on the server and matches without
// failing, under every flag regexFlags accepts; the refused ones listed
// fail there (or would, with a nondeterministic collation for one).
func TestRegexLiteralsAgainstPostgres(t *testing.T) {
	conn := connectPG(t)
	ctx := context.Background()
	subjects := "VALUES (''), ('abc'), ('318-42-7765'), ('kestrel.vault1@deep.example'), ('ÉÀ ü\n\t x'), (repeat('ab', 5000)), (NULL)"
	try := func(p string) error {
		_, err := conn.Exec(ctx, fmt.Sprintf(`SELECT count(regexp_replace(s, %s, 'x\1', 'gi')), count(regexp_match(s, %[1]s, 'n')),
			count(regexp_like(s, %[1]s, 'cspw')), count(regexp_count(s, %[1]s, 2)), count(regexp_substr(s, %[1]s)),
			count(regexp_instr(s, %[1]s)), count(substring(s FROM %[1]s)) FROM (%s) v(s)`, quoteLiteral(p), subjects))
		return err
	}
	for _, p := range regexAccepted {
		if err := try(p); err != nil {
			t.Errorf("accepted %q: %v", p, err)
		}
	}
	for _, p := range regexFailing {
		if regexPattern(p) {
			t.Errorf("regexPattern(%q) = true, want false", p)
		}
		if try(p) == nil {
			t.Errorf("%q compiles on the server: the list no longer shows why patterns are checked", p)
		}
	}
	rng := rand.New(rand.NewSource(34))
	accepted := 0
	for i := 0; i < 3000 && accepted < 400; i++ {
		var b strings.Builder
		for n := 1 + rng.Intn(8); n > 0; n-- {
			b.WriteString(regexPieces[rng.Intn(len(regexPieces))])
		}
		p := b.String()
		if !regexPattern(p) {
			continue
		}
		accepted++
		if err := try(p); err != nil {
			t.Errorf("generated %q: %v", p, err)
		}
	}
	if accepted < 100 {
		t.Errorf("only %d generated patterns accepted", accepted)
	}
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
