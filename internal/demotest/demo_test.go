package demotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const adminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// repoRoot is the module root, two directories above this file.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("locating the test file")
	}
	return filepath.Join(filepath.Dir(here), "..", "..")
}

// skipOrFail skips the test, or fails it when env CI is set.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// runDemo builds bin/mandate into a temporary directory and runs
// scripts/demo.sh with its own output directory and database name.
func runDemo(t *testing.T, db string) string {
	t.Helper()
	root := repoRoot(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mandate")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/mandate")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building mandate: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "bash", "scripts/demo.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"MANDATE="+bin,
		"DEMO_OUT="+filepath.Join(tmp, "demo"),
		"DEMO_DB="+db,
		"NO_COLOR=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}
	return string(out)
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo: builds mandate, starts the gateway, uses PostgreSQL")
	}
	if _, err := exec.LookPath("psql"); err != nil {
		skipOrFail(t, "psql is not installed: %v", err)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		skipOrFail(t, "PostgreSQL is not reachable at 127.0.0.1:5432: %v", err)
	}
	defer admin.Close(ctx)

	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatal(err)
	}
	db := "mandate_demotest_" + hex.EncodeToString(suffix[:])
	out := runDemo(t, db)
	if strings.Contains(out, "Gateway demo skipped") {
		t.Fatalf("the demo skipped its gateway part although PostgreSQL answers:\n%s", out)
	}

	for _, tc := range []struct {
		name string
		want string // a regular expression one line of the output must match
	}{
		{"offline explain allows the read", `ALLOW: agent fulfilment-planner may select public\.customers`},
		{"tampered bundle rejected", `tampered\.tar\.gz rejected: .*digest mismatch`},
		{"gateway ready", `\{"revision":"demo-local","status":"ready"\}`},
		{"session token for the agent", `"agent":"fulfilment-planner","roles":\["order_reader"\]`},
		{"masked row alice", `^\s*1 \| pending \| Alice Martin \| a\*\*\*@example\.com \| \[REDACTED\]\s*$`},
		{"masked row bob", `^\s*2 \| shipped \| Bob Chen\s+\| b\*\*\*@example\.org \| \[REDACTED\]\s*$`},
		{"update needs approval", `^ERROR:  42501: mandate: statement needs approval: agent fulfilment-planner .*update public\.orders only with an approval`},
		{"approval hint", `^HINT:  this statement is requestable with approval from group oncall \(role order_reader, max 1h\)$`},
		{"masked filter denied", `^ERROR:  42501: mandate: permission denied by policy: .*may not filter on public\.customers\.email`},
		{"writable CTE denied", `^ERROR:  42501: mandate: permission denied by policy: .*may not delete public\.order_items`},
		{"read-only mode kept", `^ERROR:  42501: mandate: permission denied by policy: .*default_transaction_read_only`},
		{"upstream unchanged", `^\s*1 \| pending \|\s+2\s*$`},
		{"sessions recorded", `^s_[0-9a-f]{20}\s+fulfilment-planner\s+order_reader\s+orders_db\s+.*client terminated$`},
		{"session names the original identity", `^\s+subject\s+repo:acme/fulfilment:ref:refs/heads/main$`},
		{"masked result recorded", `result -> allow \| rows 3, .* 6 masked`},
		{"record verified", `^gw-[0-9a-f]+: ok: events 1\.\.\d+ \(\d+\), [1-9]\d* checkpoints`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !regexp.MustCompile(`(?m)` + tc.want).MatchString(out) {
				t.Errorf("no line of the demo output matches %q", tc.want)
			}
		})
	}
	for _, secret := range []string{"123-45-6789", "987-65-4321", "| alice@example.com", "| bob.chen@example.org"} {
		if strings.Contains(out, secret) {
			t.Errorf("the demo output shows the unmasked value %q", secret)
		}
	}

	var left int
	if err := admin.QueryRow(ctx,
		`SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) + (SELECT count(*) FROM pg_roles WHERE rolname = $1)`,
		db).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("the demo left its database or role %s behind", db)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out)
	}
}
