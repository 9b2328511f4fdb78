package review

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/model"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// testPolicy mirrors testdata/edits/policy.hcl.
func testPolicy() *model.Policy {
	src := func(line int) model.Source { return model.Source{File: "policy.hcl", Line: line, Column: 3} }
	return &model.Policy{
		SchemaVersion: 1,
		Groups:        map[string]*model.Group{"security": {Name: "security", Members: []string{"alice@example.com"}, GitHub: []string{"alice-gh", "acme/security"}}},
		Roles: map[string]*model.Role{
			"order_reader": {
				Name: "order_reader", Description: "Reads order status for the fulfilment planner", Source: model.Source{File: "policy.hcl", Line: 7, Column: 1},
				Postgres: map[string]*model.PostgresGrant{
					"orders_db": {Connection: "orders_db", Statements: []string{"select", "update", "delete"}, Tables: []string{"public.orders", "public.order_items", "public.customers"}, Masking: []string{"pii"}, Source: src(11)},
					"sales_db":  {Connection: "sales_db", Statements: []string{"*"}, Tables: []string{"sales.*", "public.regions"}, Source: src(22)},
					"audit_db":  {Connection: "audit_db", Statements: []string{"select"}, Tables: []string{"audit.events"}, Source: src(27)},
				},
				SSH: map[string]*model.SSHGrant{
					"build_host": {Connection: "build_host", Commands: []string{"systemctl status app", "journalctl -u app -n *", "uptime"}, Source: src(32)},
				},
				Review: &model.Review{EverySeconds: 90 * 86400, Reviewers: []string{"security"}, LastReviewed: "2026-07-01",
					UnusedAfterSeconds: 30 * 86400, OnOverdue: "require_approval", DueUnix: date("2026-09-29").Unix(), Source: src(36)},
			},
			"deployer": {Name: "deployer", Source: model.Source{File: "policy.hcl", Line: 70, Column: 1}},
		},
		Agents: map[string]*model.Agent{
			"fulfilment-planner": {Name: "fulfilment-planner", Roles: []string{"order_reader", "deployer"}, Source: model.Source{File: "policy.hcl", Line: 46, Column: 1}},
			"legacy-batch":       {Name: "legacy-batch", Roles: []string{"order_reader"}, Source: model.Source{File: "policy.hcl", Line: 56, Column: 1}},
			"idle-bot":           {Name: "idle-bot", Roles: []string{"order_reader"}, Source: model.Source{File: "other.hcl", Line: 1, Column: 1}},
		},
	}
}

func stmt(class, table string, n int64, first, last string, sessions ...string) model.StatementUsage {
	return model.StatementUsage{Class: class, Table: table, Count: n, First: date(first), Last: date(last), SampleSessions: sessions}
}

func testUsage() *model.Usage {
	return &model.Usage{
		Since: date("2026-08-28"), Until: date("2026-11-26"),
		Agents: []model.AgentUsage{
			{Agent: "fulfilment-planner", Sessions: 40, First: date("2026-08-29"), Last: date("2026-11-25")},
			{Agent: "idle-bot", Sessions: 3, First: date("2026-11-01"), Last: date("2026-11-20")},
		},
		Grants: []model.GrantUsage{
			{Agent: "fulfilment-planner", Role: "order_reader", Connection: "orders_db", Kind: "postgres", Count: 107,
				First: date("2026-09-01"), Last: date("2026-11-25"), SampleSessions: []string{"s-9", "s-8"},
				Statements: []model.StatementUsage{
					stmt("select", "public.orders", 100, "2026-09-02", "2026-11-25", "s-9"),
					stmt("select", "public.customers", 5, "2026-10-30", "2026-11-01", "s-7"),
					stmt("update", "public.orders", 2, "2026-09-01", "2026-09-15", "s-1"),
				}},
			{Agent: "fulfilment-planner", Role: "order_reader", Connection: "sales_db", Kind: "postgres", Count: 12,
				First: date("2026-10-01"), Last: date("2026-11-20"),
				Statements: []model.StatementUsage{
					stmt("select", "sales.orders", 10, "2026-10-01", "2026-11-20"),
					stmt("insert", "sales.invoices", 2, "2026-11-02", "2026-11-03"),
				}},
			{Agent: "fulfilment-planner", Role: "order_reader", Connection: "build_host", Kind: "ssh", Count: 13,
				First: date("2026-09-10"), Last: date("2026-11-24"),
				Commands: []model.CommandUsage{
					{Command: "systemctl status app", Count: 10, First: date("2026-09-10"), Last: date("2026-11-24")},
					{Command: "journalctl -u app -n 50", Count: 3, First: date("2026-11-01"), Last: date("2026-11-02")},
				}},
			{Agent: "idle-bot", Role: "deployer", Connection: "build_host", Kind: "ssh", Count: 1, First: date("2026-11-20"), Last: date("2026-11-20")},
		},
		Approvals: []model.ApprovalUsage{
			{Agent: "fulfilment-planner", Role: "order_reader", Connection: "orders_db", Class: "update", Table: "public.orders", Approved: 5, Last: date("2026-11-10")},
			{Agent: "fulfilment-planner", Role: "order_reader", Connection: "orders_db", Class: "delete", Table: "public.orders", Approved: 1, Last: date("2026-11-11")},
		},
	}
}

// kinds summarises proposals as "kind connection/agent value -> replacement".
func kinds(ps []Proposal) []string {
	var out []string
	for _, p := range ps {
		s := string(p.Kind) + " " + p.Connection + p.Agent
		if p.Value != "" {
			s += " " + p.Value
		}
		if p.Replacement != nil {
			s += " -> " + strings.Join(p.Replacement, ",")
		}
		out = append(out, s)
	}
	return out
}

func TestPropose(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		policy    func(*model.Policy)
		usage     func(*model.Usage)
		roles     []string
		proposals []string
		notes     int
	}{
		{
			name:  "due role",
			opts:  Options{Now: date("2026-11-26")},
			roles: []string{"order_reader"},
			proposals: []string{
				"remove_grant audit_db",
				"remove_statement orders_db update",
				"remove_statement orders_db delete",
				"remove_table orders_db public.order_items",
				"narrow_statements sales_db * -> select,insert",
				"narrow_table sales_db sales.* -> sales.invoices,sales.orders",
				"remove_table sales_db public.regions",
				"remove_command build_host uptime",
				"remove_agent_role idle-bot order_reader",
				"remove_agent legacy-batch",
				"set_last_reviewed  2026-11-26",
			},
		},
		{
			name:      "window shorter than unused_after proposes no removal",
			opts:      Options{Now: date("2026-11-26")},
			usage:     func(u *model.Usage) { u.Since = date("2026-11-10") },
			roles:     []string{"order_reader"},
			proposals: []string{"set_last_reviewed  2026-11-26"},
			notes:     1,
		},
		{
			name:  "not yet due outside the notice period",
			opts:  Options{Now: date("2026-09-01"), Notice: 7 * 24 * time.Hour},
			usage: func(u *model.Usage) { u.Since, u.Until = date("2026-06-01"), date("2026-09-01") },
		},
		{
			name: "a wildcard next to the names it covers is removed, not narrowed",
			opts: Options{Now: date("2026-11-26")},
			policy: func(p *model.Policy) {
				g := p.Roles["order_reader"].Postgres["sales_db"]
				g.Statements = []string{"*", "insert", "select"}
				g.Tables = []string{"public.regions", "sales.*", "sales.invoices", "sales.orders"}
			},
			roles: []string{"order_reader"},
			proposals: []string{
				"remove_grant audit_db",
				"remove_statement orders_db update",
				"remove_statement orders_db delete",
				"remove_table orders_db public.order_items",
				"remove_statement sales_db *",
				"remove_table sales_db public.regions",
				"remove_table sales_db sales.*",
				"remove_command build_host uptime",
				"remove_agent_role idle-bot order_reader",
				"remove_agent legacy-batch",
				"set_last_reviewed  2026-11-26",
			},
		},
		{
			name:  "forced role without review block",
			opts:  Options{Now: date("2026-11-26"), Roles: []string{"deployer"}},
			roles: []string{"deployer"},
			// idle-bot used deployer; fulfilment-planner has sessions but not of deployer.
			proposals: []string{"remove_agent_role fulfilment-planner deployer"},
		},
		{
			name:  "a table used once, at the window's first instant, is kept",
			opts:  Options{Now: date("2026-11-26")},
			usage: func(u *model.Usage) { u.Grants[0].Statements[2].Last = date("2026-10-27") },
			roles: []string{"order_reader"},
			proposals: []string{
				"remove_grant audit_db",
				"remove_statement orders_db delete",
				"remove_table orders_db public.order_items",
				"narrow_statements sales_db * -> select,insert",
				"narrow_table sales_db sales.* -> sales.invoices,sales.orders",
				"remove_table sales_db public.regions",
				"remove_command build_host uptime",
				"remove_agent_role idle-bot order_reader",
				"remove_agent legacy-batch",
				"set_last_reviewed  2026-11-26",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := testUsage()
			if tt.usage != nil {
				tt.usage(u)
			}
			p := testPolicy()
			if tt.policy != nil {
				tt.policy(p)
			}
			plan, err := Propose(p, u, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var roles []string
			for _, r := range plan.Roles {
				roles = append(roles, r.Role)
			}
			if diff := cmp.Diff(tt.roles, roles); diff != "" {
				t.Fatalf("roles (-want +got):\n%s", diff)
			}
			if len(plan.Roles) == 0 {
				return
			}
			if diff := cmp.Diff(tt.proposals, kinds(plan.Roles[0].Proposals)); diff != "" {
				t.Errorf("proposals (-want +got):\n%s", diff)
			}
			if len(plan.Roles[0].Notes) != tt.notes && tt.notes > 0 {
				t.Errorf("notes = %q, want %d", plan.Roles[0].Notes, tt.notes)
			}
		})
	}
}

func TestProposeDetails(t *testing.T) {
	plan, err := Propose(testPolicy(), testUsage(), Options{Now: date("2026-11-26")})
	if err != nil {
		t.Fatal(err)
	}
	r := plan.Roles[0]
	if diff := cmp.Diff([]string{"acme/security", "alice-gh"}, r.Reviewers); diff != "" {
		t.Errorf("reviewers: %s", diff)
	}
	if len(r.Baseline) != 1 || r.Baseline[0].Class != "update" || r.Baseline[0].Approved != 5 {
		t.Errorf("baseline = %+v", r.Baseline)
	}
	if !r.Overdue || !r.Covered || !r.WindowStart.Equal(date("2026-10-27")) {
		t.Errorf("overdue=%v covered=%v window=%s", r.Overdue, r.Covered, r.WindowStart)
	}
	orders := r.Grants[1]
	if orders.Connection != "orders_db" || orders.Count != 107 || !slices.Equal(orders.Samples, []string{"s-9", "s-8"}) {
		t.Errorf("orders grant = %+v", orders)
	}
	if _, err := Propose(testPolicy(), testUsage(), Options{Roles: []string{"nope"}}); err == nil {
		t.Error("no error for an unknown --role")
	}
}

// TestProposeExact checks the promise on random policies and usage:
// nothing used in the window is ever removed, and everything unused is.
func TestProposeExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	classes := []string{"select", "insert", "update", "delete"}
	tables := []string{"public.a", "public.b", "sales.x", "sales.y", "sales.z", "audit.e"}
	entries := []string{"public.a", "public.b", "sales.*", "sales.x", "audit.e", "*.*"}
	commands := []string{"uptime", "df -h", "journalctl *", "ls *"}
	ran := []string{"uptime", "df -h", "journalctl -n 5", "ls /tmp", "ls", "whoami"}
	until := date("2026-11-26")
	for iter := 0; iter < 300; iter++ {
		pick := func(from []string) []string {
			var out []string
			for _, s := range from {
				if rng.IntN(2) == 0 {
					out = append(out, s)
				}
			}
			if len(out) == 0 {
				out = from[:1]
			}
			return out
		}
		p := &model.Policy{Roles: map[string]*model.Role{"r": {Name: "r",
			Postgres: map[string]*model.PostgresGrant{"db": {Connection: "db", Statements: pick(append([]string{"*"}, classes...)), Tables: pick(entries)}},
			SSH:      map[string]*model.SSHGrant{"host": {Connection: "host", Commands: pick(commands)}},
			Review:   &model.Review{UnusedAfterSeconds: 30 * 86400, DueUnix: 1},
		}}}
		u := &model.Usage{Since: until.AddDate(0, 0, -90), Until: until}
		g := model.GrantUsage{Agent: "a", Role: "r", Connection: "db", Kind: "postgres"}
		pg := p.Roles["r"].Postgres["db"]
		for i := rng.IntN(6); i > 0; i-- {
			c, tb := classes[rng.IntN(len(classes))], tables[rng.IntN(len(tables))]
			if !slices.ContainsFunc(pg.Statements, func(s string) bool { return s == "*" || s == c }) ||
				!slices.ContainsFunc(pg.Tables, func(e string) bool { return matchTable(e, tb) }) {
				continue // the gateway would have denied it
			}
			last := until.AddDate(0, 0, -rng.IntN(60))
			g.Statements = append(g.Statements, model.StatementUsage{Class: c, Table: tb, Count: 1, First: last, Last: last})
			g.Count++
			if last.After(g.Last) {
				g.Last = last
			}
		}
		s := model.GrantUsage{Agent: "a", Role: "r", Connection: "host", Kind: "ssh"}
		for i := rng.IntN(4); i > 0; i-- {
			cmd := ran[rng.IntN(len(ran))]
			if !slices.ContainsFunc(p.Roles["r"].SSH["host"].Commands, func(pat string) bool { return matchCommand(pat, cmd) }) {
				continue
			}
			last := until.AddDate(0, 0, -rng.IntN(60))
			s.Commands = append(s.Commands, model.CommandUsage{Command: cmd, Count: 1, First: last, Last: last})
			s.Count++
			if last.After(s.Last) {
				s.Last = last
			}
		}
		u.Grants = []model.GrantUsage{g, s}
		plan, err := Propose(p, u, Options{Now: until, Roles: []string{"r"}})
		if err != nil {
			t.Fatal(err)
		}
		start := until.AddDate(0, 0, -30)
		t.Run(fmt.Sprint(iter), func(t *testing.T) { checkExact(t, plan.Roles[0], u, start) })
	}
}

func checkExact(t *testing.T, r RoleReview, u *model.Usage, start time.Time) {
	removed := map[string]bool{}
	for _, p := range r.Proposals {
		removed[p.Connection+"|"+p.Value] = p.Kind != NarrowStatements && p.Kind != NarrowTable
		if p.Kind == RemoveGrant {
			removed[p.Connection+"|*grant"] = true
		}
		for _, rep := range p.Replacement {
			removed[p.Connection+"|"+rep] = false
		}
	}
	inWindow := func(last time.Time) bool { return !last.Before(start) }
	for _, g := range r.Grants {
		for _, e := range g.Entries {
			usedNow := false
			for _, gu := range u.Grants {
				if gu.Connection != g.Connection {
					continue
				}
				for _, su := range gu.Statements {
					if inWindow(su.Last) && ((e.Field == "statements" && (e.Value == "*" || e.Value == su.Class)) || (e.Field == "tables" && matchTable(e.Value, su.Table))) {
						usedNow = true
					}
				}
				for _, cu := range gu.Commands {
					if inWindow(cu.Last) && e.Field == "commands" && matchCommand(e.Value, cu.Command) {
						usedNow = true
					}
				}
			}
			gone := removed[g.Connection+"|"+e.Value] || removed[g.Connection+"|*grant"]
			if usedNow && gone && isPattern(e.Value) {
				// Allowed only when the names it covered are listed literally.
				for _, m := range e.Matched {
					if !slices.ContainsFunc(g.Entries, func(o EntryUsage) bool {
						return o.Field == e.Field && strings.EqualFold(qualifyIf(o.Field, o.Value), qualifyIf(e.Field, m))
					}) {
						t.Errorf("%s %s %q was removed, but %q it covered is not granted by name", g.Connection, e.Field, e.Value, m)
					}
				}
			} else if usedNow && gone {
				t.Errorf("%s %s %q was used in the window but is proposed for removal", g.Connection, e.Field, e.Value)
			}
			if !usedNow && !gone {
				t.Errorf("%s %s %q was unused in the window but is kept: %v", g.Connection, e.Field, e.Value, kinds(r.Proposals))
			}
		}
	}
}

func qualifyIf(field, v string) string {
	if field == "tables" {
		return qualify(v)
	}
	return v
}
