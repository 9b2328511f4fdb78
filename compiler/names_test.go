package compiler

import "testing"

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"30s", 30, true}, {"10m", 600, true}, {"1h", 3600, true}, {"90d", 90 * 86400, true},
		{"2w", 14 * 86400, true}, {"1h30m", 5400, true}, {"1d12h", 36 * 3600, true},
		{"", 0, false}, {"0s", 0, false}, {"10", 0, false}, {"1y", 0, false}, {"-1h", 0, false},
		{"1.5h", 0, false}, {"h", 0, false}, {"1h ", 0, false}, {"999999999w", 0, false},
		{"3661d", 0, false}, {"10 minutes", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		in         string
		table, col bool
	}{
		{"public.orders", true, false},
		{"sales.*", true, false},
		{"*.*", true, false},
		{"staging.orders_*", true, false},
		{"public.customers.email", false, true},
		{"public.customers.*", false, true},
		{"orders", false, false},
		{"a..b", false, false},
		{"public.orders;drop", false, false},
		{"public.or ders", false, false},
		{"", false, false},
	} {
		if got := checkTablePattern(tc.in) == nil; got != tc.table {
			t.Errorf("checkTablePattern(%q) ok=%v, want %v", tc.in, got, tc.table)
		}
		if got := checkColumnName(tc.in) == nil; got != tc.col {
			t.Errorf("checkColumnName(%q) ok=%v, want %v", tc.in, got, tc.col)
		}
	}
}

func TestCheckNesting(t *testing.T) {
	deep := func(n int) string {
		s := ""
		for range n {
			s += "["
		}
		return s
	}
	for _, tc := range []struct {
		name string
		src  string
		ok   bool
	}{
		{"shallow", "a = [[[1]]]", true},
		{"limit", "a = " + deep(MaxNesting), true},
		{"over", "a = " + deep(MaxNesting+1), false},
		{"in-string", `a = "` + deep(500) + `"`, true},
		{"in-comment", "# " + deep(500) + "\na = 1", true},
		{"in-block-comment", "/* " + deep(500) + " */ a = 1", true},
		{"interpolation", `a = "${[[1]]} ` + deep(100) + `"`, true},
		{"raw-backstop", "a = <<EOT\n\"\nEOT\nb = " + deep(maxRawNesting+1), false},
	} {
		_, ok := checkNesting([]byte(tc.src))
		if ok {
			_, ok = checkRawNesting([]byte(tc.src))
		}
		if ok != tc.ok {
			t.Errorf("%s: ok=%v, want %v", tc.name, ok, tc.ok)
		}
	}
}

func TestNameSuggestion(t *testing.T) {
	if got := nameSuggestion("order_reder", []string{"deployer", "order_reader"}); got != "order_reader" {
		t.Errorf("got %q", got)
	}
	if got := nameSuggestion("xyz", []string{"deployer", "order_reader"}); got != "" {
		t.Errorf("got %q", got)
	}
}
