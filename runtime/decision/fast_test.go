package decision

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
)

// randPolicy builds a small policy from r that exercises every branch of
// the Rego library: several grants per agent, overlapping table, function
// and command patterns, maskings with and without allow_filter, requestable
// grants, reviews due before and after now with every on_overdue, roles the
// policy does not define and an ssh connection.
func randPolicy(r *rand.Rand, now int64) *model.Policy {
	pick := func(from []string, max int) []string {
		var out []string
		for _, s := range from {
			if r.IntN(len(from)) < max {
				out = append(out, s)
			}
		}
		return out
	}
	src := func(file string, line int) model.Source { return model.Source{File: file, Line: line, Column: 1} }
	p := &model.Policy{
		SchemaVersion: model.SchemaVersion,
		Connections: map[string]*model.Connection{
			"pg1": {Name: "pg1", Type: "postgres", Address: "db1:5432", Source: src("connections.hcl", 1)},
			"pg2": {Name: "pg2", Type: "postgres", Address: "db2:5432", Source: src("connections.hcl", 10)},
			"h1":  {Name: "h1", Type: "ssh", Address: "h1:22", Source: src("connections.hcl", 20)},
		},
		Maskings: map[string]*model.Masking{},
		Groups:   map[string]*model.Group{},
		Roles:    map[string]*model.Role{},
		Agents:   map[string]*model.Agent{},
	}
	columns := []string{"public.customers.email", "public.*.ssn", "public.orders.*", "*.*.card", "public.customers.*", "sales.leads.phone"}
	for i := range 3 {
		name := fmt.Sprintf("m%d", i)
		m := &model.Masking{Name: name, Source: src("masking.hcl", 100*i)}
		for j, c := range pick(columns, 2) {
			m.Columns = append(m.Columns, &model.ColumnRule{Column: c, Method: []string{"redact", "hash", "partial"}[r.IntN(3)],
				AllowFilter: r.IntN(3) == 0, Source: src("masking.hcl", 100*i+j+1)})
		}
		p.Maskings[name] = m
	}
	classes := append(slices.Clone(model.StatementClasses), "*")
	tables := []string{"public.orders", "public.order_items", "public.*", "sales.*", "*.*", "public.customers", "public.ord*"}
	functions := []string{"lower", "pg_catalog.upper", "public.f*", "now", "count"}
	commands := []string{"systemctl status *", "ls *", "uptime", "cat /var/log/*", "*"}
	maskings := []string{"m0", "m1", "m2", "m9"}
	pgGrant := func(conn string, line int) *model.PostgresGrant {
		return &model.PostgresGrant{Connection: conn, Statements: pick(classes, 3), Tables: pick(tables, 2),
			Functions: pick(functions, 2), Masking: pick(maskings, 1), Source: src("roles.hcl", line)}
	}
	sshGrant := func(line int) *model.SSHGrant {
		return &model.SSHGrant{Connection: "h1", Commands: pick(commands, 2), Interactive: r.IntN(2) == 0, Source: src("roles.hcl", line)}
	}
	for i := range 6 {
		name := fmt.Sprintf("r%d", i)
		role := &model.Role{Name: name, Postgres: map[string]*model.PostgresGrant{}, SSH: map[string]*model.SSHGrant{}, Source: src("roles.hcl", 1000*i)}
		for j, conn := range pick([]string{"pg1", "pg2"}, 1) {
			role.Postgres[conn] = pgGrant(conn, 1000*i+10+j)
		}
		if r.IntN(3) == 0 {
			role.SSH["h1"] = sshGrant(1000*i + 20)
		}
		if r.IntN(3) == 0 {
			a := &model.Approval{Postgres: map[string]*model.PostgresGrant{}, SSH: map[string]*model.SSHGrant{},
				Approvers: pick([]string{"dba", "sre"}, 1), MinApprovals: 1 + r.IntN(2), MaxTTLSecond: []int64{3600, 5400, 45}[r.IntN(3)],
				Source: src("roles.hcl", 1000*i+30)}
			for j, conn := range pick([]string{"pg1", "pg2"}, 1) {
				a.Postgres[conn] = pgGrant(conn, 1000*i+40+j)
			}
			if r.IntN(2) == 0 {
				a.SSH["h1"] = sshGrant(1000*i + 50)
			}
			role.Approval = a
		}
		if r.IntN(2) == 0 {
			role.Review = &model.Review{EverySeconds: 86400 * 90, Reviewers: pick([]string{"dba", "sre"}, 1), LastReviewed: "2026-01-01",
				GraceSeconds: int64(r.IntN(2) * 86400), OnOverdue: []string{"warn", "require_approval", "deny"}[r.IntN(3)],
				DueUnix: now + int64(r.IntN(5)-2)*86400, Source: src("roles.hcl", 1000*i+60)}
		}
		p.Roles[name] = role
	}
	roles := []string{"r0", "r1", "r2", "r3", "r4", "r5", "ghost"}
	for i := range 5 {
		name := fmt.Sprintf("a%d", i)
		rs := pick(roles, 3)
		if rs == nil && r.IntN(2) == 0 {
			rs = []string{} // roles = [] as against no roles at all (null)
		}
		if r.IntN(5) == 0 && len(rs) > 0 {
			rs = append(rs, rs[0]) // a duplicate
		}
		p.Agents[name] = &model.Agent{Name: name, Roles: rs, Source: src("agents.hcl", 10*i),
			Identities: []*model.Identity{{Issuer: "https://issuer", Subject: name}}}
	}
	return p
}

// randInput draws an input against the names of randPolicy, unknown ones
// included.
func randInput(r *rand.Rand, now int64) *model.Input {
	one := func(from ...string) string { return from[r.IntN(len(from))] }
	in := &model.Input{
		Kind:    one("postgres", "postgres", "postgres", "ssh", "session"),
		Agent:   one("a0", "a1", "a2", "a3", "a4", "a0", "a1", "a2", "a3", "a4", "nobody"),
		NowUnix: now + int64(r.IntN(5)-2)*86400,
	}
	switch {
	case r.IntN(8) == 0:
		in.Connection = one("pg1", "h1", "nowhere")
	case in.Kind == "postgres":
		in.Connection = one("pg1", "pg2")
	case in.Kind == "ssh":
		in.Connection = "h1"
	default:
		in.Connection = one("pg1", "pg2", "h1")
	}
	if r.IntN(8) == 0 {
		in.Approvals = []model.ActiveApproval{{ID: "apr-2", Role: one("r0", "r1", "r2")}, {ID: "apr-1", Role: one("r0", "r3")}}
	}
	switch in.Kind {
	case "postgres":
		st := &model.Statement{Fingerprint: fmt.Sprint(r.Uint64()), Tag: one("SELECT", "UPDATE", "", "VACUUM")}
		for range r.IntN(4) {
			st.Accesses = append(st.Accesses, model.Access{
				Class: one(append(slices.Clone(model.StatementClasses), "truncate")...),
				Table: one("public.orders", "public.order_items", "public.customers", "sales.leads", "pg_catalog.pg_class", "", "public.orders.x"),
			})
		}
		for range r.IntN(3) {
			st.Functions = append(st.Functions, one("lower", "pg_catalog.lower", "upper", "pg_catalog.upper", "public.fx", "now", "pg_sleep"))
		}
		for range r.IntN(3) {
			st.FilterColumns = append(st.FilterColumns, one("public.customers.email", "public.orders.*", "public.customers.*",
				"public.orders.status", "public.people.ssn", "sales.leads.phone", "x.y.card"))
		}
		st.Always = r.IntN(8) == 0
		if r.IntN(12) == 0 {
			st.Forbidden = "ALTER SYSTEM"
		}
		if r.IntN(20) != 0 {
			in.Statement = st
		}
	case "ssh":
		in.Shell = r.IntN(4) == 0
		if !in.Shell {
			in.Command = one("systemctl status archiver", "ls /tmp", "uptime", "cat /var/log/syslog", "ls; rm -rf /", "", "cat /var/log/$(id)")
		}
	}
	return in
}

// TestFastPathAgreesWithRego decides random inputs against random policies
// with the fast path and with OPA alone, and requires the same decision
// wherever the fast path answers. It also requires that the fast path
// answers often, allow and deny alike, so that it cannot pass by declining.
func TestFastPathAgreesWithRego(t *testing.T) {
	policies, inputs := 24, 150
	if testing.Short() {
		policies = 6
	}
	seen := map[string]int{}
	for seed := range uint64(policies) {
		seen = checkFastPath(t, seed, inputs, seen)
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	t.Logf("fast path answered %d of %d inputs: %v", total-seen["declined"], total, seen)
	for _, k := range []string{"postgres/allow", "postgres/deny", "postgres/needs_approval", "ssh/allow", "ssh/deny", "ssh/needs_approval",
		"session/allow", "session/deny", "session/needs_approval", "declined"} {
		if seen[k] == 0 {
			t.Errorf("no input reached %s", k)
		}
	}
	if answered := total - seen["declined"]; answered < total*3/4 {
		t.Errorf("fast path answered only %d of %d inputs", answered, total)
	}
}

func checkFastPath(t testing.TB, seed uint64, inputs int, seen map[string]int) map[string]int {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).Unix()
	r := rand.New(rand.NewPCG(seed, 42))
	p := randPolicy(r, now)
	loaded := loadPolicy(t, p, "rev-fast")
	ctx := context.Background()
	fast, err := New(ctx, loaded, Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if fast.fast == nil {
		t.Fatal("the fast path is off for a bundle of the stock library")
	}
	rego, err := New(ctx, loaded, Options{CacheSize: -1, RegoOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range inputs {
		in := randInput(r, now)
		got, ok := fast.fast.decide(in)
		if !ok {
			seen["declined"]++
			continue
		}
		want, err := rego.decide(ctx, in)
		if err != nil {
			t.Fatalf("seed %d input %d: rego: %v", seed, i, err)
		}
		seen[in.Kind+"/"+want.Result]++
		if !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d input %d: %+v\nfast path: %s\nrego:      %s", seed, i, describeInput(in), describeDecision(got), describeDecision(want))
		}
	}
	return seen
}

func describeInput(in *model.Input) string {
	s := fmt.Sprintf("%s %s@%s now=%d approvals=%v", in.Kind, in.Agent, in.Connection, in.NowUnix, in.Approvals)
	if in.Statement != nil {
		s += fmt.Sprintf(" statement=%+v", *in.Statement)
	}
	if in.Kind == "ssh" {
		s += fmt.Sprintf(" command=%q shell=%v", in.Command, in.Shell)
	}
	return s
}

func describeDecision(d model.Decision) string {
	src := "<nil>"
	if d.Source != nil {
		src = fmt.Sprintf("%+v", *d.Source)
	}
	return fmt.Sprintf("%s %q source=%s role=%q grant=%q masking=%q ro=%v overdue=%q hint=%q",
		d.Result, d.Reason, src, d.Role, d.Grant, d.Masking, d.ReadOnly, d.Overdue, d.Hint)
}

// FuzzFastPathAgreesWithRego runs the same comparison over fuzzed seeds.
func FuzzFastPathAgreesWithRego(f *testing.F) {
	for _, s := range []uint64{1, 7, 99, 12345} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		checkFastPath(t, seed, 20, map[string]int{})
	})
}

// TestFastPathOnlyForTheStockLibrary: a bundle whose Rego differs from the
// library compiled in is decided by OPA alone.
func TestFastPathOnlyForTheStockLibrary(t *testing.T) {
	loaded := loadPolicy(t, fixturePolicy(t), "rev-1")
	if !stockLibrary(loaded) {
		t.Fatal("a bundle built by this release is not recognised as the stock library")
	}
	changed := *loaded
	changed.Files = slices.Clone(loaded.Files)
	for i, f := range changed.Files {
		if f.Path == "mandate/postgres.rego" {
			changed.Files[i].SHA256 = "00" + f.SHA256[2:]
		}
	}
	if stockLibrary(&changed) {
		t.Error("a bundle with a changed mandate/postgres.rego is taken for the stock library")
	}
	e, err := New(context.Background(), &changed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.fast != nil {
		t.Error("the engine uses the fast path for a bundle with other Rego")
	}
}
