package gateway

import (
	"context"
	"fmt"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/recorder/pgrecord"
	"github.com/mandatehq/mandate/runtime/store"
)

// openRecorder opens the store block's store and the recorder on it, and
// returns the recorder as the PostgreSQL proxy sees it. Closed by
// closeRecorder after the listeners have drained.
func (g *Gateway) openRecorder(ctx context.Context) (pgproxy.Recorder, error) {
	sc := g.cfg.Store
	st, err := store.Open(ctx, store.Config{Path: sc.SQLite, Postgres: sc.Postgres, Sync: sc.Durability == recorder.Sync})
	if err != nil {
		// The DSN is a secret: name the backend, not the target.
		return nil, fmt.Errorf("opening the record store (%s): %w", storeKind(sc.Postgres), err)
	}
	key, err := chain.LoadOrCreateKey(g.cfg.StateDir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("loading the record key: %w", err)
	}
	rec, err := recorder.New(ctx, st, recorder.Config{
		Durability: sc.Durability,
		Retention:  sc.Retention,
		// Literals are redacted unless the operator keeps raw statements.
		KeepRawStatements: sc.KeepRawStatements,
		StateDir:          g.cfg.StateDir,
		Key:               key,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("starting the recorder: %w", err)
	}
	if err := rec.Register(g.reg); err != nil {
		rec.Close()
		st.Close()
		return nil, fmt.Errorf("registering recorder metrics: %w", err)
	}
	g.store, g.rec, g.recKey = st, rec, key
	g.log.Info("recording to store", "backend", storeKind(sc.Postgres), "durability", sc.Durability, "instance", rec.Gateway())
	return pgrecord.New(rec, func() string { return g.mgr.Status().Revision }, g.log), nil
}

func (g *Gateway) closeRecorder() {
	if g.rec != nil {
		if err := g.rec.Close(); err != nil {
			g.log.Error("closing the recorder", "error", err.Error())
		}
	}
	if g.store != nil {
		if err := g.store.Close(); err != nil {
			g.log.Error("closing the record store", "error", err.Error())
		}
	}
}

func storeKind(postgresDSN string) string {
	if postgresDSN != "" {
		return "postgres"
	}
	return "sqlite"
}
