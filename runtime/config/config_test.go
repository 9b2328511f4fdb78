package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

func TestLoadFull(t *testing.T) {
	t.Setenv("MANDATE_TEST_DSN", "postgres://u:secret@db/x")
	cfg, diags := Load("testdata/full.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir, _ := filepath.Abs("testdata")
	want := &Config{
		Dir:      dir,
		StateDir: filepath.Join(dir, "var/state"),
		LogLevel: "debug",
		Listen:   Listen{API: "127.0.0.1:8080", Postgres: "127.0.0.1:15432", SSH: "127.0.0.1:2222"},
		API:      API{OpenDryRun: true},
		TLS:      &TLS{Cert: filepath.Join(dir, "tls/gateway.crt"), Key: filepath.Join(dir, "tls/gateway.key")},
		Bundle: Bundle{
			Source: "file://build/bundle.tar.gz",
			Keys: map[string]string{
				"k2026": filepath.Join(dir, "keys/2026.pub"),
				"k2027": filepath.Join(dir, "keys/2027.pub"),
			},
			Poll: 30 * time.Second, MaxAge: time.Hour, AllowRollback: true, MaxSize: 8 << 20,
		},
		Issuers: []*Issuer{
			{Name: "github", URL: "https://token.actions.githubusercontent.com", Audience: "mandate"},
			{Name: "local", URL: "https://mandate.local", Audience: "mandate", JWKSFile: filepath.Join(dir, "keys/local-issuer.jwks")},
		},
		Store: &Store{Postgres: "postgres://u:secret@db/x", Durability: "async", Retention: 30 * 24 * time.Hour, KeepRawStatements: true},
	}
	if d := cmp.Diff(want, cfg, cmpopts.IgnoreTypes(hcl.Range{})); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	if p, ok := cfg.SourcePath(); !ok || p != filepath.Join(dir, "build/bundle.tar.gz") {
		t.Errorf("SourcePath = %q, %v", p, ok)
	}
}

func TestLoadDefaults(t *testing.T) {
	cfg, diags := Load("testdata/minimal.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir, _ := filepath.Abs("testdata")
	want := &Config{
		Dir: dir, StateDir: filepath.Join(dir, "state"), LogLevel: "info",
		Listen: Listen{API: DefaultAPIAddr},
		Bundle: Bundle{
			Source: "https://bundles.example.com/acme/bundle.tar.gz",
			Keys:   map[string]string{"": filepath.Join(dir, "keys/bundle.pub")},
			Poll:   DefaultPoll, MaxAge: DefaultMaxAge, MaxSize: DefaultMaxSize,
		},
		Store: &Store{SQLite: filepath.Join(dir, "state/mandate.db"), Durability: "sync", Retention: DefaultRetention},
	}
	if d := cmp.Diff(want, cfg, cmpopts.IgnoreTypes(hcl.Range{})); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
}

func TestListenDefaults(t *testing.T) {
	const b = "bundle {\n  source = \"file://b.tar.gz\"\n  verification_key = \"k.pub\"\n}\n"
	for _, tc := range []struct {
		name, src string
		want      Listen
	}{
		{"no listen block", b, Listen{API: DefaultAPIAddr}},
		{"listen block without api", "listen {\n  postgres = \"127.0.0.1:15432\"\n}\n" + b, Listen{API: DefaultAPIAddr, Postgres: "127.0.0.1:15432"}},
		{"api turned off", "listen {\n  api = \"\"\n}\n" + b, Listen{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := Parse([]byte(tc.src), "gateway.hcl")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if d := cmp.Diff(tc.want, cfg.Listen, cmpopts.IgnoreTypes(hcl.Range{})); d != "" {
				t.Errorf("listen (-want +got):\n%s", d)
			}
		})
	}
}

var errorComment = regexp.MustCompile(`# ERROR: (.+)$`)

// TestErrors checks every testdata/errors file: each "# ERROR: Summary"
// comment expects a diagnostic with that summary on its line (a comment on
// a line of its own expects one without a subject).
func TestErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/errors/*.hcl")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			sc := bufio.NewScanner(bytes.NewReader(src))
			for line := 1; sc.Scan(); line++ {
				if m := errorComment.FindStringSubmatch(sc.Text()); m != nil {
					if strings.HasPrefix(strings.TrimSpace(sc.Text()), "#") {
						want = append(want, "end: "+m[1])
					} else {
						want = append(want, fmt.Sprintf("%d: %s", line, m[1]))
					}
				}
			}
			_, diags := Parse(src, f)
			lines := bytes.Count(src, []byte("\n"))
			var got []string
			for _, d := range diags {
				if d.Subject != nil && d.Subject.Start.Line <= lines {
					got = append(got, fmt.Sprintf("%d: %s", d.Subject.Start.Line, d.Summary))
				} else {
					got = append(got, "end: "+d.Summary)
				}
				if d.Detail == "" {
					t.Errorf("diagnostic %q has no detail", d.Summary)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", d, diags)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"1024", 1024, false}, {"64MiB", 64 << 20, false}, {"10MB", 10e6, false},
		{"1 GiB", 1 << 30, false}, {"", 0, true}, {"MiB", 0, true}, {"-1", 0, true},
		{"99999999999999999999", 0, true}, {"4611686018427387904KiB", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10s", 10 * time.Second, false}, {"400d", 400 * 24 * time.Hour, false}, {"0", 0, false},
		{"-1s", 0, true}, {"xd", 0, true}, {"10 seconds", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseDuration(%q) = %s, %v", tc.in, got, err)
			}
		})
	}
}

// FuzzParse feeds arbitrary configuration text; it must never panic.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/full.hcl", "testdata/minimal.hcl", "testdata/errors/blocks.hcl"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		Parse(src, "fuzz.hcl")
	})
}
