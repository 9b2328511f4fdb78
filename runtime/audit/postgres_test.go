package audit_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
	"github.com/mandatehq/mandate/runtime/store/storetest"
)

// TestPostgresVerifyTamper records into PostgreSQL from two gateway
// instances (replicas sharing the record), verifies both chains, then
// deletes an event with SQL and checks that verify names it.
func TestPostgresVerifyTamper(t *testing.T) {
	dsn := storetest.Postgres(t)
	if dsn == "" {
		t.Skip("no postgres")
	}
	ctx := context.Background()
	st, err := store.OpenTarget(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var keys []*chain.Key
	for _, gw := range []string{"replica-a", "replica-b"} {
		dir := t.TempDir()
		rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir, Instance: gw, CheckpointEvery: 5})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "etl", Connection: "sales"})
		for i := 0; i < 12; i++ {
			s.Record(ctx, recorder.Event{Kind: recorder.KindStatement, Statement: &recorder.Statement{Text: "SELECT 1"},
				Decision: &recorder.Decision{Result: model.Allow, Role: "reader", Grant: "sales"}})
		}
		s.End(ctx, "done")
		rec.Close()
		k, _ := chain.LoadOrCreateKey(dir)
		keys = append(keys, k)
	}
	opts := audit.VerifyOptions{Keys: audit.NewKeySet(keys[0].Public, keys[1].Public)}
	rep, err := audit.Verify(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Chains) != 2 {
		t.Fatalf("verify: %+v", rep)
	}
	db, _ := sql.Open("pgx", dsn)
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM events WHERE gateway = 'replica-b' AND seq = 6`); err != nil {
		t.Fatal(err)
	}
	rep, _ = audit.Verify(ctx, st, opts)
	if rep.OK || rep.Chains[0].Problem != nil || rep.Chains[1].Problem == nil ||
		rep.Chains[1].Problem.Seq != 6 || rep.Chains[1].Problem.Kind != audit.ProblemDeleted {
		t.Errorf("verify after delete: %+v", rep.Chains)
	}
	u, err := audit.Usage(ctx, st, audit.UsageFilter{})
	if err != nil || len(u.Grants) != 1 || u.Grants[0].Count != 23 {
		t.Errorf("usage over both replicas: %+v, %v", u, err)
	}
}
