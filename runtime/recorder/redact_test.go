package recorder

import (
	"strings"
	"testing"
	"time"
)

var redactTests = []struct{ in, want string }{
	{"SELECT 1", "SELECT ?"},
	{"SELECT * FROM t WHERE a = 'x''y' AND b = 3.5e-3", "SELECT * FROM t WHERE a = ? AND b = ?"},
	{"SELECT E'\\'secret' , x'ff', B'101'", "SELECT ? , ?, ?"},
	{"SELECT $$pii$$, $tag$ a $ b $tag$", "SELECT ?, ?"},
	{`SELECT "col1", t2.c3 FROM t2 -- card 4111\nWHERE id=$1`, `SELECT "col1", t2.c3 FROM t2 \nWHERE id=$1`},
	{"SELECT /* 123 */ id FROM t1", "SELECT   id FROM t1"},
	{"SELECT 'unterminated", "SELECT ?"},
	// Block comments nest: the whole of one is dropped.
	{"SELECT /* a /* b */ pw hunter2 */ 1", "SELECT   ?"},
	{"SELECT /* a /* b */ pw hunter2", "SELECT  "},
	{"SELECT 0x1F, 1_000", "SELECT ?, ?"},
	{"INSERT INTO t VALUES ($1, $2)", "INSERT INTO t VALUES ($1, $2)"},
	{"", ""},
}

func TestDefaultRedact(t *testing.T) {
	for _, tt := range redactTests {
		t.Run(tt.in, func(t *testing.T) {
			if got, want := DefaultRedact(strings.ReplaceAll(tt.in, `\n`, "\n")), strings.ReplaceAll(tt.want, `\n`, "\n"); got != want {
				t.Errorf("DefaultRedact(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func FuzzDefaultRedact(f *testing.F) {
	for _, tt := range redactTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := DefaultRedact(s)
		if len(out) > len(s)+1 {
			t.Fatalf("redaction grew the text: %q -> %q", s, out)
		}
		inIdent := false
		for i := 0; i < len(out); i++ {
			switch {
			case out[i] == '"':
				inIdent = !inIdent
			case out[i] == '\'' && !inIdent:
				t.Fatalf("a string literal survived: %q -> %q", s, out)
			}
		}
	})
}

var durationTests = []struct {
	in   string
	want time.Duration
	ok   bool
}{
	{"400d", 400 * 24 * time.Hour, true},
	{"90d12h", 90*24*time.Hour + 12*time.Hour, true},
	{"36h", 36 * time.Hour, true},
	{"1.5h", 90 * time.Minute, true},
	{"d", 0, false},
	{"-3d", 0, false},
	{"3dx", 0, false},
	{"", 0, false},
}

func TestParseDuration(t *testing.T) {
	for _, tt := range durationTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, tt := range durationTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 && !strings.HasPrefix(strings.TrimSpace(s), "-") {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"defaults", Config{StateDir: "/tmp/x"}, ""},
		{"bad durability", Config{StateDir: "/x", Durability: "eventually"}, "record.durability"},
		{"negative queue", Config{StateDir: "/x", QueueSize: -1}, "record.queue_size"},
		{"short retention", Config{StateDir: "/x", Retention: time.Minute}, "record.retention"},
		{"no state dir", Config{}, "record.state_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.CheckAndSetDefaults()
			if tt.err == "" {
				if err != nil || tt.cfg.Durability != Sync || tt.cfg.CheckpointEvery != 1000 || tt.cfg.FlushInterval != 100*time.Millisecond {
					t.Errorf("defaults: %+v, %v", tt.cfg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want mention of %s", err, tt.err)
			}
		})
	}
}
