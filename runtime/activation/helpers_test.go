package activation_test

import (
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/decision"
	"github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

// load is the real loader (compiler/bundle + runtime/decision) for s's key.
func load(s *gatewaytest.Signer, maxSize int64) activation.LoadFunc {
	return activation.BundleLoader(map[string][]byte{s.KeyID: s.Public}, maxSize, decision.Options{})
}

// selectInput is agent selecting from public.orders on connection app.
func selectInput(agent string) *model.Input {
	return &model.Input{Kind: "postgres", Agent: agent, Connection: "app", NowUnix: gatewaytest.Time(100).Unix(),
		Statement: &model.Statement{Fingerprint: "f1", Tag: "SELECT",
			Accesses: []model.Access{{Class: "select", Table: "public.orders"}}}}
}

func discard() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
