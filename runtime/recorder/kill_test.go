package recorder_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// childEnv makes the test binary act as a gateway writing in sync mode
// until it is killed (see TestKill9Child).
const childEnv = "MANDATE_RECORDER_KILL_CHILD"

// TestKill9Child is the child half of TestKill9: 16 writers record in sync
// mode and print "ack SEQ" once each event is durable.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("child process of TestKill9")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "record.db"), Sync: true})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir, Durability: recorder.Sync, CheckpointEvery: 100})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := rec.StartSession(ctx, recorder.SessionInfo{Agent: fmt.Sprintf("a%d", w), Connection: "db"})
			if err != nil {
				return
			}
			for i := 0; ; i++ {
				ack, err := s.Record(ctx, stmt(i))
				if err != nil {
					return
				}
				mu.Lock()
				os.Stdout.WriteString("ack " + strconv.FormatUint(ack.Seq, 10) + "\n")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.v=false")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 3000 {
		line := sc.Text()
		if seq, ok := strings.CutPrefix(line, "ack "); ok {
			n, _ := strconv.ParseUint(seq, 10, 64)
			acked[n] = true
		} else if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	// Acks printed before the kill landed are acknowledged too.
	for sc.Scan() {
		if seq, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			n, _ := strconv.ParseUint(seq, 10, 64)
			acked[n] = true
		}
	}
	cmd.Wait()
	if len(acked) < 3000 {
		t.Fatalf("child acknowledged only %d events", len(acked))
	}
	// A torn last write: half a WAL frame that never committed.
	wal := filepath.Join(dir, "record.db-wal")
	if fh, err := os.OpenFile(wal, os.O_APPEND|os.O_WRONLY, 0); err == nil {
		fh.Write(make([]byte, 1500))
		fh.Close()
	}

	ctx := context.Background()
	st := openSQLite(t, dir)
	present := map[uint64]bool{}
	st.Events(ctx, store.EventFilter{}, func(e *store.Event) error { present[e.Seq] = true; return nil })
	missing := 0
	for seq := range acked {
		if !present[seq] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged events missing after kill -9", missing)
	}
	verifyOK(t, st)
	// The recorder resumes on the recovered chain and notes the unclean stop.
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "after", Connection: "db"})
	if _, err := s.Record(ctx, stmt(1)); err != nil {
		t.Fatal(err)
	}
	s.End(ctx, "done")
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyOK(t, st)
	if rep.Chains[0].Unsigned != 0 {
		t.Errorf("unsigned after clean close: %d", rep.Chains[0].Unsigned)
	}
	found := false
	st.Events(ctx, store.EventFilter{Kinds: []string{string(recorder.KindRecorder)}}, func(e *store.Event) error {
		found = found || strings.Contains(string(e.Payload), "unclean stop detected")
		return nil
	})
	if !found {
		t.Error("no recorder event notes the unclean stop")
	}
}
