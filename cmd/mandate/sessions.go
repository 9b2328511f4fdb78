package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
	"github.com/spf13/cobra"
)

func init() { register(newSessionsCmd) }

// storeFlag is the --store flag shared by the sessions and audit commands.
func storeFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "store", os.Getenv("MANDATE_STORE"), "the record: an SQLite file or a PostgreSQL DSN (default $MANDATE_STORE)")
}

func openRecord(ctx context.Context, target string) (store.Store, error) {
	if target == "" {
		return nil, usageError{errors.New("--store is required (an SQLite file or a PostgreSQL DSN)")}
	}
	return store.OpenTarget(ctx, target)
}

// parseTime reads an absolute time (RFC 3339 or YYYY-MM-DD) or a duration
// before now ("90d", "24h").
func parseTime(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	d, err := recorder.ParseDuration(s)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--%s %q: want a duration (90d, 24h), a date or an RFC 3339 time", flag, s)}
	}
	return now.Add(-d), nil
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usageError{fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(allowed, " or "))}
}

func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newSessionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sessions", Short: "List, show and replay recorded sessions"}
	cmd.AddCommand(newSessionsListCmd(), newSessionsShowCmd(), newSessionsReplayCmd())
	return cmd
}

func newSessionsListCmd() *cobra.Command {
	var target, format, since string
	var f store.SessionFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List sessions, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			t, err := parseTime("since", since, time.Now())
			if err != nil {
				return err
			}
			if !t.IsZero() {
				f.Since = t.UnixNano()
			}
			st, err := openRecord(cmd.Context(), target)
			if err != nil {
				return err
			}
			defer st.Close()
			ss, err := audit.ListSessions(cmd.Context(), st, f)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd, ss)
			}
			return audit.WriteSessionsText(cmd.OutOrStdout(), ss)
		},
	}
	storeFlag(cmd, &target)
	cmd.Flags().StringVar(&f.Agent, "agent", "", "only sessions of this agent")
	cmd.Flags().StringVar(&f.Connection, "connection", "", "only sessions on this connection")
	cmd.Flags().StringVar(&since, "since", "", "only sessions open since this time or duration ago (24h, 7d, 2026-01-31)")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "show at most this many sessions (0: all)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newSessionsShowCmd() *cobra.Command {
	var target, format string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a session's timeline of statements, commands and decisions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			st, err := openRecord(cmd.Context(), target)
			if err != nil {
				return err
			}
			defer st.Close()
			tl, err := audit.SessionTimeline(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd, tl)
			}
			return audit.WriteTimelineText(cmd.OutOrStdout(), tl)
		},
	}
	storeFlag(cmd, &target)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newSessionsReplayCmd() *cobra.Command {
	var target, castPath string
	var speed float64
	cmd := &cobra.Command{
		Use:   "replay ID",
		Short: "Play back an interactive SSH session, or export it as asciicast v2",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if speed < 0 {
				return usageError{errors.New("--speed must not be negative")}
			}
			st, err := openRecord(cmd.Context(), target)
			if err != nil {
				return err
			}
			defer st.Close()
			tl, err := audit.SessionTimeline(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			if castPath == "" {
				return audit.Replay(cmd.Context(), cmd.OutOrStdout(), tl, speed)
			}
			out := cmd.OutOrStdout()
			if castPath != "-" {
				fh, err := os.Create(castPath)
				if err != nil {
					return fmt.Errorf("creating %s: %w", castPath, err)
				}
				defer fh.Close()
				out = fh
			}
			return audit.Asciicast(out, tl)
		},
	}
	storeFlag(cmd, &target)
	cmd.Flags().Float64Var(&speed, "speed", 1, "playback speed factor (2 = twice as fast, 0 = no delays)")
	cmd.Flags().StringVar(&castPath, "asciicast", "", "write asciicast v2 to this file (- for stdout) instead of playing")
	return cmd
}
