package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mandatehq/mandate/review"
	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/store"
)

// loadUsage reads usage from a gateway URL, a record store (SQLite file or
// PostgreSQL DSN) or an export file.
//
// caFile, when set, is the PEM certificate (or CA) a gateway URL is trusted
// by: a gateway without a tls block serves a self-signed certificate from
// its state directory.
func loadUsage(ctx context.Context, src, keyFile, caFile, token string, since, until time.Time) (*review.Loaded, error) {
	var key []byte
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("reading usage key: %w", err)
		}
		key = b
	}
	parse := func(data []byte) (*review.Loaded, error) {
		if key == nil {
			return review.ParseUsage(data, nil)
		}
		pub, err := review.ParsePublicKey(key)
		if err != nil {
			return nil, err
		}
		return review.ParseUsage(data, pub)
	}
	switch {
	case strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://"):
		c, err := api.NewClient(src, caFile, token)
		if err != nil {
			return nil, err
		}
		data, err := review.FetchUsage(ctx, c.HTTPClient, src, token, since)
		if err != nil {
			return nil, err
		}
		return parse(data)
	case store.IsPostgres(src) || isSQLite(src):
		if key != nil {
			return nil, fmt.Errorf("--usage-key verifies an export; %s is a record store, read directly", redactDSN(src))
		}
		st, err := store.OpenTarget(ctx, src)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		u, err := audit.Usage(ctx, st, audit.UsageFilter{Since: since, Until: until})
		if err != nil {
			return nil, err
		}
		raw, err := json.MarshalIndent(u, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encoding usage: %w", err)
		}
		return review.ParseUsage(append(raw, '\n'), nil)
	default:
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("reading usage: %w", err)
		}
		return parse(data)
	}
}

func isSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := f.Read(head)
	return bytes.Equal(head[:n], []byte("SQLite format 3\x00"))
}

func redactDSN(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.LastIndex(s, "@"); at > i {
			return s[:i+3] + "***@" + s[at+1:]
		}
	}
	return s
}
