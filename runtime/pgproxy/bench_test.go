package pgproxy

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BenchmarkQuery runs one small SELECT per iteration directly and through
// the gateway (test policy, masking active on the table, no recording), in
// both protocols; the ratio of the two is the gateway's cost per query.
func BenchmarkQuery(b *testing.B) {
	e := newEnv(b)
	tbl := e.table(b, "bench", "id int primary key, v text", "SELECT g, 'v' || g FROM generate_series(1, 1000) g")
	e.policy.set(func(p *testPolicy) {
		p.masked[tbl] = os.Getenv("PGPROXY_BENCH_NOMASK") == ""
		p.maskings["pii"] = piiMasking(tbl)
	})
	ctx := context.Background()
	direct, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close(ctx)
	gw := e.connect(b, "disable")
	for _, target := range []struct {
		name string
		c    *pgx.Conn
	}{{"direct", direct}, {"gateway", gw}} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
			b.Run(target.name+"/"+mode.String(), func(b *testing.B) {
				var v string
				for i := 0; i < b.N; i++ {
					if err := target.c.QueryRow(ctx, "SELECT v FROM "+tbl+" WHERE id = $1", mode, i%1000+1).Scan(&v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
