//go:build unix

package review

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// Sizes of the generated history (issue 6: 1,000,000 events, 200 roles).
const (
	benchEvents = 1_000_000
	benchRoles  = 200
	benchAgents = 400
	benchPG     = 50 // postgres connections
	benchSSH    = 20 // ssh connections
)

// benchRepo writes a policy repository of benchRoles roles (two postgres
// grants and one ssh grant each, all due for review) and benchAgents agents.
func benchRepo(tb testing.TB, dir string) {
	tb.Helper()
	var conns, roles, agents strings.Builder
	for i := range benchPG {
		fmt.Fprintf(&conns, "connection \"db_%02d\" {\n  type     = \"postgres\"\n  address  = \"10.0.0.%d:5432\"\n  database = \"app\"\n  credential {\n    username = \"mandate\"\n    password = env(\"DB_PASSWORD\")\n  }\n}\n\n", i, i+1)
	}
	for i := range benchSSH {
		fmt.Fprintf(&conns, "connection \"host_%02d\" {\n  type    = \"ssh\"\n  address = \"10.0.1.%d:22\"\n  credential {\n    username    = \"deploy\"\n    private_key = file(\"keys/deploy\")\n  }\n  host_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrzeNbWXMk1ze83hBYmHE/SknMhZJXsq9BaBAIu1BbY\"\n}\n\n", i, i+1)
	}
	conns.WriteString("group \"security\" {\n  members = [\"alice@example.com\"]\n  github  = [\"alice\"]\n}\n")
	for i := range benchRoles {
		fmt.Fprintf(&roles, `# Role %[1]d.
role "role_%03[1]d" {
  postgres "db_%02[2]d" {
    statements = ["select", "insert", "update", "delete"]
    tables     = ["app.t0", "app.t1", "app.t2", "app.t3", "app.t4"] # t4 is never used
  }

  postgres "db_%02[3]d" {
    statements = ["*"]
    tables     = ["sales.*", "public.regions"]
  }

  ssh "host_%02[4]d" {
    commands = ["systemctl status app", "journalctl -u app -n *", "uptime", "df -h"]
  }

  review {
    every         = "90d"
    reviewers     = [group.security]
    last_reviewed = "2026-07-01"
    unused_after  = "30d"
    on_overdue    = "warn"
  }
}

`, i, i%benchPG, (i+1)%benchPG, i%benchSSH)
	}
	for i := range benchAgents {
		fmt.Fprintf(&agents, "agent \"agent_%03d\" {\n  identity {\n    issuer  = \"https://issuer.example.com\"\n    subject = \"agent-%d\"\n  }\n  roles = [role.role_%03d, role.role_%03d]\n}\n\n", i, i, i%benchRoles, (i+7)%benchRoles)
	}
	for name, s := range map[string]string{"connections.hcl": conns.String(), "roles.hcl": roles.String(), "agents.hcl": agents.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// memStore serves generated events to audit.Usage (the recorder's own
// aggregation) without a database.
type memStore struct {
	events   []store.Event
	sessions []store.Session
}

func (m *memStore) Events(_ context.Context, f store.EventFilter, fn func(*store.Event) error) error {
	for i := range m.events {
		e := &m.events[i]
		if e.Time < f.Since || (f.Until != 0 && e.Time > f.Until) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Sessions(_ context.Context, f store.SessionFilter) ([]store.Session, error) {
	return m.sessions, nil
}

var _ audit.UsageStore = (*memStore)(nil)

// benchHistory generates n allowed statements and commands over 90 days.
// Agents 0-9 are idle (no session), so their removal is proposed.
func benchHistory(n int, until time.Time) *memStore {
	rng := rand.New(rand.NewPCG(6, 6))
	m := &memStore{}
	since := until.AddDate(0, 0, -90)
	sessions := map[string]bool{}
	classes := []string{"select", "select", "select", "insert", "update"}
	for i := range n {
		a := 10 + rng.IntN(benchAgents-10)
		role := a % benchRoles
		if rng.IntN(2) == 0 {
			role = (a + 7) % benchRoles
		}
		t := since.Add(time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
		sid := fmt.Sprintf("s-%03d-%02d", a, t.YearDay()%90)
		if !sessions[sid] {
			sessions[sid] = true
			m.sessions = append(m.sessions, store.Session{ID: sid, Gateway: "gw", Agent: fmt.Sprintf("agent_%03d", a), Start: t.UnixNano()})
		}
		ev := recorder.Event{Decision: &recorder.Decision{Result: model.Allow, Role: fmt.Sprintf("role_%03d", role)}}
		kind := recorder.KindStatement
		switch k := rng.IntN(10); {
		case k < 6:
			ev.Decision.Grant = fmt.Sprintf("db_%02d", role%benchPG)
			ev.Statement = &recorder.Statement{Text: "select 1", Accesses: []model.Access{{Class: classes[rng.IntN(len(classes))], Table: fmt.Sprintf("app.t%d", rng.IntN(4))}}}
		case k < 9:
			ev.Decision.Grant = fmt.Sprintf("db_%02d", (role+1)%benchPG)
			ev.Statement = &recorder.Statement{Text: "select 1", Accesses: []model.Access{{Class: "select", Table: fmt.Sprintf("sales.s%d", rng.IntN(10))}}}
		default:
			kind = recorder.KindCommand
			ev.Decision.Grant = fmt.Sprintf("host_%02d", role%benchSSH)
			ev.Command = &recorder.Command{Text: []string{"systemctl status app", "journalctl -u app -n 50"}[rng.IntN(2)]}
		}
		payload, _ := json.Marshal(&ev)
		m.events = append(m.events, store.Event{Gateway: "gw", Seq: uint64(i + 1), SessionID: sid, Time: t.UnixNano(), Kind: string(kind), Payload: payload})
	}
	return m
}

// BenchmarkReview1M is issue 6's figure: 1,000,000 recorded events across
// 200 roles. "usage" is the recorder's aggregation (audit.Usage) over the
// events held in memory; "propose" is the review proper over that usage;
// "propose+edits" adds the hclwrite edits and the evidence of all 200 roles,
// which is what `mandate review --dry-run` computes. With
// MANDATE_BENCH_STORE set, "usage-sqlite" is audit.Usage from a SQLite
// record (its usage index) and "review-sqlite" that plus the proposals:
// `mandate review --usage record.db`.
func BenchmarkReview1M(b *testing.B) {
	until := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	dir := b.TempDir()
	benchRepo(b, dir)
	repo, diags := compiler.Load(dir, compiler.Options{Now: until})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	st := benchHistory(benchEvents, until)
	memHistory := st
	var u *model.Usage
	b.Run("usage", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			var err error
			u, err = audit.Usage(context.Background(), st, audit.UsageFilter{Since: until.AddDate(0, 0, -90), Until: until})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(benchEvents), "events")
	})
	if os.Getenv("MANDATE_BENCH_STORE") != "" {
		st := benchSQLite(b, memHistory)
		defer st.Close()
		b.Run("usage-sqlite", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				su, err := audit.Usage(context.Background(), st, audit.UsageFilter{Since: until.AddDate(0, 0, -90), Until: until})
				if err != nil || (u != nil && len(su.Grants) != len(u.Grants)) {
					b.Fatalf("%v: %d grants, want %d", err, len(su.Grants), len(u.Grants))
				}
				if u == nil {
					u = su
				}
			}
		})
		// What `mandate review --usage record.db` computes: the usage from
		// the record, then the proposals.
		b.Run("review-sqlite", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				su, err := audit.Usage(context.Background(), st, audit.UsageFilter{Since: until.AddDate(0, 0, -90), Until: until})
				if err != nil {
					b.Fatal(err)
				}
				plan, err := Propose(repo.Policy, su, Options{Now: until})
				if err != nil || len(plan.Roles) != benchRoles {
					b.Fatalf("%v, %d roles", err, len(plan.Roles))
				}
			}
		})
	}
	b.Run("propose", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			plan, err := Propose(repo.Policy, u, Options{Now: until})
			if err != nil || len(plan.Roles) != benchRoles {
				b.Fatalf("%v, %d roles", err, len(plan.Roles))
			}
		}
	})
	b.Run("propose+edits", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			plan, err := Propose(repo.Policy, u, Options{Now: until})
			if err != nil {
				b.Fatal(err)
			}
			outs, err := Build(dir, plan, &Loaded{Usage: u})
			if err != nil || len(outs) != benchRoles {
				b.Fatalf("%v, %d outputs", err, len(outs))
			}
		}
	})
}

// benchSQLite writes the history into a SQLite record store (set
// MANDATE_BENCH_STORE=1; bench/review.sh does). The chain hashes are
// placeholders: usage does not verify the chain.
func benchSQLite(b *testing.B, m *memStore) store.Store {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(b.TempDir(), "record.db")})
	if err != nil {
		b.Fatal(err)
	}
	zero := make([]byte, 32)
	for i := 0; i < len(m.events); i += 10_000 {
		batch := &store.Batch{Events: slices.Clone(m.events[i:min(i+10_000, len(m.events))])}
		for j := range batch.Events {
			batch.Events[j].Prev, batch.Events[j].Hash = zero, zero
		}
		if i == 0 {
			batch.Sessions = m.sessions
		}
		if err := st.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// reportCPU reports the process CPU time (user + system) per operation:
// on a shared machine wall time says more about the neighbours than about
// the code.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchHistorySmall runs the benchmark's pipeline on a small history so
// that the generator and its expectations stay correct.
func TestBenchHistorySmall(t *testing.T) {
	until := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	benchRepo(t, dir)
	repo, diags := compiler.Load(dir, compiler.Options{Now: until})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	u, err := audit.Usage(context.Background(), benchHistory(20_000, until), audit.UsageFilter{Since: until.AddDate(0, 0, -90), Until: until})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Propose(repo.Policy, u, Options{Now: until})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Roles) != benchRoles {
		t.Fatalf("%d roles due, want %d", len(plan.Roles), benchRoles)
	}
	got := map[Kind]int{}
	for _, r := range plan.Roles {
		for _, p := range r.Proposals {
			got[p.Kind]++
		}
	}
	// Every role: app.t4, delete, public.regions, uptime and df -h are
	// unused; "*" and "sales.*" are narrowed; last_reviewed is set.
	for kind, min := range map[Kind]int{RemoveTable: 2 * benchRoles, RemoveStatement: benchRoles, RemoveCommand: 2 * benchRoles,
		NarrowTable: benchRoles, NarrowStatements: benchRoles, SetLastReviewed: benchRoles, RemoveAgent: 10} {
		if got[kind] < min {
			t.Errorf("%d %s proposals, want at least %d", got[kind], kind, min)
		}
	}
	outs, err := Build(dir, plan, &Loaded{Usage: u})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs[0].Manual) != 0 {
		t.Errorf("manual edits: %+v", outs[0].Manual)
	}
}
