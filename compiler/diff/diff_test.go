package diff

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/model"
)

func basePolicy() *model.Policy {
	return &model.Policy{
		SchemaVersion: model.SchemaVersion,
		Roles: map[string]*model.Role{
			"order_reader": {Name: "order_reader", Postgres: map[string]*model.PostgresGrant{
				"orders_db": {Connection: "orders_db", Statements: []string{"select"}, Tables: []string{"public.orders"}, Masking: []string{"pii"}},
			}},
			"order_writer": {Name: "order_writer", Postgres: map[string]*model.PostgresGrant{
				"orders_db": {Connection: "orders_db", Statements: []string{"update"}, Tables: []string{"public.orders"}},
			}},
			"deployer": {Name: "deployer", SSH: map[string]*model.SSHGrant{
				"build_host": {Connection: "build_host", Commands: []string{"systemctl status app"}},
			}},
		},
		Agents: map[string]*model.Agent{
			"fulfilment-planner": {Name: "fulfilment-planner", Roles: []string{"order_reader"},
				Identities: []*model.Identity{{Issuer: "https://issuer", Subject: "planner"}}},
			"release-bot": {Name: "release-bot", Roles: []string{"deployer"},
				Identities: []*model.Identity{{Issuer: "https://issuer", Subject: "release"}}},
		},
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *model.Policy)
		want   []string
	}{
		{name: "no change", change: func(*model.Policy) {}},
		{
			name: "role added to agent",
			change: func(p *model.Policy) {
				p.Agents["fulfilment-planner"].Roles = append(p.Agents["fulfilment-planner"].Roles, "order_writer")
			},
			want: []string{"+ fulfilment-planner gains update on public.orders via role order_writer (orders_db)"},
		},
		{
			name:   "table removed from grant",
			change: func(p *model.Policy) { p.Roles["order_reader"].Postgres["orders_db"].Statements = nil },
			want:   []string{"- fulfilment-planner loses select on public.orders via role order_reader (orders_db)"},
		},
		{
			name:   "masking removed",
			change: func(p *model.Policy) { p.Roles["order_reader"].Postgres["orders_db"].Masking = nil },
			want:   []string{"+ fulfilment-planner is no longer masked by pii on orders_db via role order_reader"},
		},
		{
			name: "command and requestable added",
			change: func(p *model.Policy) {
				g := p.Roles["deployer"].SSH["build_host"]
				g.Commands = append(g.Commands, "journalctl -u app -n *")
				p.Roles["deployer"].Approval = &model.Approval{SSH: map[string]*model.SSHGrant{
					"build_host": {Connection: "build_host", Commands: []string{"systemctl restart app"}},
				}}
			},
			want: []string{
				"+ release-bot gains run `journalctl -u app -n *` via role deployer (build_host)",
				"+ release-bot gains run `systemctl restart app` via role deployer (build_host), with an approval",
			},
		},
		{
			name:   "identity changed",
			change: func(p *model.Policy) { p.Agents["release-bot"].Identities[0].Subject = "other" },
			want: []string{
				"+ release-bot gains identity issuer https://issuer subject other",
				"- release-bot loses identity issuer https://issuer subject release",
			},
		},
		{
			name:   "agent removed",
			change: func(p *model.Policy) { delete(p.Agents, "release-bot") },
			want: []string{
				"- agent release-bot is removed",
				"- release-bot loses identity issuer https://issuer subject release",
				"- release-bot loses run `systemctl status app` via role deployer (build_host)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newP := basePolicy()
			tt.change(newP)
			r := Compare("old", basePolicy(), "new", newP)
			var buf bytes.Buffer
			if err := Write(&buf, r, "text"); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(buf.String(), "\n")[1:] {
				if line = strings.TrimSpace(line); line != "" && line != "no change" {
					got = append(got, line)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			for _, f := range []string{"markdown", "json"} {
				if err := Write(&bytes.Buffer{}, r, f); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
		})
	}
}

func TestLoadRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	dir := filepath.Join(repo, "policy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadDir("../../examples/quickstart")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range src {
		if filepath.Ext(e.Name()) == ".hcl" {
			b, err := os.ReadFile(filepath.Join("../../examples/quickstart", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	p1, diags, err := LoadRevision(dir, "HEAD", compiler.Options{})
	if err != nil {
		t.Fatalf("LoadRevision: %v %s", err, diags.Error())
	}
	agents := filepath.Join(dir, "agents.hcl")
	b, _ := os.ReadFile(agents)
	if err := os.WriteFile(agents, bytes.Replace(b, []byte(`roles = [role.order_reader]`), []byte(`roles = []`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-q", "-am", "two")
	p2, _, err := LoadRevision(dir, "HEAD", compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := Compare("HEAD~1", p1, "HEAD", p2)
	if len(r.Changes) == 0 {
		t.Fatal("no change found between the revisions")
	}
	for _, c := range r.Changes {
		if c.Agent != "fulfilment-planner" || c.Change != "loses" {
			t.Errorf("unexpected change: %s", c.Sentence())
		}
	}
	if _, _, err := LoadRevision(dir, "no-such-rev", compiler.Options{}); err == nil {
		t.Error("an unknown revision loaded")
	}
}
