// Command benchgw runs the Postgres gateway for bench/pgbench.sh: it
// compiles a policy directory, builds the decision engine, records into
// the real recorder (SQLite store, async durability), and serves until
// SIGINT/SIGTERM.
// GET /mem on the -http address reports the process's memory after a GC.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/decision"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/recorder/pgrecord"
	"github.com/mandatehq/mandate/runtime/store"
)

func main() {
	policyDir := flag.String("policy", "", "policy repository directory")
	database := flag.String("database", "", "replaces DATABASE in the policy files")
	upstream := flag.String("upstream", "", "replaces the connection's address: host:port, or the path of PostgreSQL's Unix socket file")
	listen := flag.String("listen", "127.0.0.1:15432", "postgres listen address")
	record := flag.Bool("record", true, "record into the real recorder (false: record nothing, to isolate its cost)")
	loops := flag.Int("loops", 0, "event loops (pgproxy.Config.EventLoops; 0: none, every session on goroutines)")
	httpAddr := flag.String("http", "127.0.0.1:15480", "memory report address (and /debug/pprof)")
	flag.Parse()
	eng, err := engine(*policyDir, *database, *upstream)
	if err != nil {
		log.Fatal(err)
	}
	stateDir, err := os.MkdirTemp("", "benchgw-record")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(stateDir)
	st, err := store.Open(context.Background(), store.Config{Path: stateDir + "/record.db"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	rec, err := recorder.New(context.Background(), st, recorder.Config{Durability: recorder.Async, StateDir: stateDir})
	if err != nil {
		log.Fatal(err)
	}
	var pr pgproxy.Recorder = pgrecord.New(rec, eng.Revision, nil)
	if !*record {
		pr = nil
	}
	srv, err := pgproxy.New(pgproxy.Config{
		Plaintext:     pgproxy.PlaintextLoopback,
		Authenticator: tokenAuth(os.Getenv("BENCH_TOKEN")),
		Policy:        policy{eng},
		Recorder:      pr,
		EventLoops:    *loops,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	http.HandleFunc("/mem", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"heap_inuse": ms.HeapInuse, "stack_inuse": ms.StackInuse,
			"sessions": srv.Sessions(), "loop_sessions": srv.LoopSessions(), "rss_kb": rssKB(),
		})
	})
	go func() { _ = http.ListenAndServe(*httpAddr, nil) }()
	fmt.Println("listening", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Close()
	if err := rec.Close(); err != nil {
		log.Print(err)
	}
}

func engine(dir, database, upstream string) (*decision.Engine, error) {
	tmp, err := os.MkdirTemp("", "benchgw")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		b = bytes.ReplaceAll(b, []byte("DATABASE"), []byte(database))
		if upstream != "" {
			b = bytes.ReplaceAll(b, []byte(`"127.0.0.1:5432"`), []byte(strconv.Quote(upstream)))
		}
		if err := os.WriteFile(tmp+"/"+e.Name(), b, 0o644); err != nil {
			return nil, err
		}
	}
	repo, diags := compiler.Load(tmp, compiler.Options{})
	if diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Build(repo.Policy, bundle.Options{Revision: "bench", SigningKey: priv})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		return nil, err
	}
	l, err := bundle.Load(&buf, map[string][]byte{b.KeyID: pub}, bundle.LoadOptions{})
	if err != nil {
		return nil, err
	}
	return decision.New(context.Background(), l, decision.Options{})
}

type policy struct{ e *decision.Engine }

func (p policy) Decide(ctx context.Context, in *model.Input) (model.Decision, error) {
	return p.e.Decide(ctx, in)
}
func (p policy) Connection(n string) (*model.Connection, bool) {
	c, ok := p.e.Policy().Connections[n]
	return c, ok
}
func (p policy) Masking(n string) (*model.Masking, bool) {
	m, ok := p.e.Policy().Maskings[n]
	return m, ok
}
func (p policy) Revision() string { return p.e.Revision() }

type tokenAuth string

func (t tokenAuth) Authenticate(_ context.Context, r pgproxy.AuthRequest) (*pgproxy.Principal, error) {
	if t == "" || r.Token != string(t) {
		return nil, errors.New("bad token")
	}
	return &pgproxy.Principal{Agent: r.Agent, Subject: r.Agent}, nil
}

func rssKB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var n int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%d", &n)
			return n
		}
	}
	return 0
}
