package pgsql

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestExpandViews(t *testing.T) {
	opts := Options{SearchPath: []string{"app"}}
	contacts, err := ViewFromDefinition([]string{"id", "mail"}, "SELECT u.id, lower(u.email) AS mail FROM users u", opts)
	if err != nil {
		t.Fatal(err)
	}
	// A view over a view.
	mails, err := ViewFromDefinition([]string{"m"}, "SELECT mail FROM contacts", opts)
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]*View{"app.contacts": contacts, "app.mails": mails}
	resolve := func(table string) *View { return views[table] }
	tests := []struct {
		sql     string
		outs    []Lineage
		filters []string
		writes  []string
	}{
		{"SELECT id, mail FROM contacts WHERE mail LIKE 'a%'",
			[]Lineage{dir("app.users.id"), src("app.users.email")}, []string{"app.users.email"}, nil},
		{"SELECT * FROM contacts", []Lineage{star("app.users.email", "app.users.id")}, nil, nil},
		{"SELECT m FROM mails ORDER BY m", []Lineage{src("app.users.email")}, []string{"app.users.email"}, nil},
		{"SELECT x FROM contacts", []Lineage{unknown("app.users.email", "app.users.id")}, nil, nil},
		{"SELECT email FROM users", []Lineage{dir("app.users.email")}, nil, nil},
		// What a statement stores from a view is what the view reads.
		{"INSERT INTO notes (body) SELECT mail FROM contacts", nil, nil, []string{"app.users.email"}},
		{"CREATE TABLE copy AS SELECT m FROM mails", nil, nil, []string{"app.users.email"}},
	}
	// Reading any column of a view reads everything the view reads (a
	// DISTINCT or a filter in it computes the other columns too).
	distinct, err := ViewFromDefinition([]string{"id", "x"}, "SELECT DISTINCT id, chr(salary) AS x FROM users WHERE email <> ''", opts)
	if err != nil {
		t.Fatal(err)
	}
	views["app.distinct_v"] = distinct
	for sql, want := range map[string][]string{
		"SELECT id FROM distinct_v":                       {"app.users.email", "app.users.id", "app.users.salary"},
		"SELECT EXISTS (SELECT id FROM mails)":            {"app.users.email", "app.users.id"},
		"SELECT count(*) FROM users WHERE id IS NOT NULL": {"app.users.id"},
		"SELECT count(*) FROM distinct_v":                 {"app.users.email", "app.users.id", "app.users.salary"},
	} {
		res, err := Analyze(sql, opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, res[0].ExpandViews(resolve).Reads.Sources, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: reads (-want +got):\n%s", sql, diff)
		}
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			res, err := Analyze(tc.sql, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := res[0].ExpandViews(resolve)
			if diff := cmp.Diff(tc.outs, got.Outputs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.filters, got.Statement.FilterColumns, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("filters (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.writes, got.Writes.Sources, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

// A filter on a view column whose lineage is unknown (a view over a
// function, such as pg_stat_activity) may read anything: FilterUnknown
// tells the proxy, which denies it where masking applies.
func TestExpandViewsFilterUnknown(t *testing.T) {
	opts := Options{SearchPath: []string{"app"}}
	activity, err := ViewFromDefinition([]string{"pid", "query"}, "SELECT s.pid, s.query FROM pg_stat_get_activity(NULL) s", opts)
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(table string) *View {
		if table == "pg_catalog.pg_stat_activity" {
			return activity
		}
		return nil
	}
	tests := []struct {
		sql  string
		want bool
	}{
		{"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%secret%'", true},
		{"SELECT pid FROM pg_stat_activity ORDER BY query", true},
		{"SELECT count(*) FROM pg_stat_activity", false},
		{"SELECT count(*) FROM users WHERE email = 'x'", false},
		// Without views: a reference no FROM item can resolve.
		{"SELECT 1 FROM (SELECT 1 AS a) d WHERE d.b = 1", true},
		// An output name used as a sort key is not unknown.
		{"SELECT a AS b FROM (SELECT 1 AS a) d ORDER BY b", false},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			res, err := Analyze(tc.sql, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := res[0].ExpandViews(resolve).FilterUnknown; got != tc.want {
				t.Errorf("FilterUnknown = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestViewFromCatalog builds a View from the definition PostgreSQL itself
// renders, as the proxy does.
func TestViewFromCatalog(t *testing.T) {
	conn := connectPG(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	schema := fmt.Sprintf("mandate_pgsql_v%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE SCHEMA %[1]s;
		CREATE TABLE %[1]s.users (id int, email text);
		CREATE VIEW %[1]s.contacts AS SELECT id AS uid, upper(email) || '!' AS shout, * FROM %[1]s.users;`, schema)); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	var def string
	if err := conn.QueryRow(ctx, "SELECT pg_get_viewdef($1::regclass)", schema+".contacts").Scan(&def); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, schema+".contacts")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	rows.Close()
	v, err := ViewFromDefinition(cols, def, Options{SearchPath: []string{"public"}})
	if err != nil {
		t.Fatalf("%v (definition %q)", err, def)
	}
	u := schema + ".users."
	want := &View{Columns: []string{"uid", "shout", "id", "email"},
		Outputs:   []Lineage{dir(u + "id"), src(u + "email"), dir(u + "id"), dir(u + "email")},
		Reads:     Lineage{Sources: []string{u + "email", u + "id"}},
		Relations: []string{schema + ".users"}}
	if diff := cmp.Diff(want, v, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("view (-want +got):\n%s\ndefinition: %s", diff, def)
	}
}

// TestViewCode: the functions outside the safe set that the views a
// statement reads call, through views of views, are the statement's
// ViewCode; views past the depth bound stand for unknown code.
func TestViewCode(t *testing.T) {
	opts := Options{SearchPath: []string{"public"}}
	view := func(def string) *View {
		t.Helper()
		an, err := Analyze(def, opts)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ViewFromDefinition(make([]string, len(an[0].Outputs)), def, opts)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	views := map[string]*View{
		"public.plain":   view("SELECT id, upper(email) FROM public.users"),
		"public.stash":   view("SELECT id, set_config('application_name', email, false) FROM public.users"),
		"public.calls":   view("SELECT id, app.score(id) FROM public.users"),
		"public.over":    view("SELECT id FROM public.stash"),
		"public.overtwo": view("SELECT p.id FROM public.plain p JOIN public.calls c ON true"),
		"public.loop":    view("SELECT id FROM public.loop"),
	}
	resolve := func(t string) *View { return views[t] }
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"SELECT count(*) FROM public.plain", nil},
		{"SELECT count(*) FROM public.users", nil},
		{"SELECT count(*) FROM public.stash", []string{"set_config"}},
		{"SELECT count(*) FROM (SELECT * FROM public.stash OFFSET 0) s", []string{"set_config"}},
		{"SELECT 1 WHERE EXISTS (SELECT 1 FROM public.calls)", []string{"app.score"}},
		{"SELECT count(*) FROM public.over", []string{"set_config"}},
		{"SELECT count(*) FROM public.overtwo", []string{"app.score"}},
		{"SELECT count(*) FROM public.loop", []string{"views nested too deeply"}},
	} {
		an, err := Analyze(tc.sql, opts)
		if err != nil {
			t.Fatal(err)
		}
		got := an[0].ExpandViews(resolve).ViewCode
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: ViewCode (-want +got):\n%s", tc.sql, diff)
		}
	}
}
