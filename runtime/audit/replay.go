package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Default terminal size when a session recorded no resize.
const (
	defaultCols = 80
	defaultRows = 24
)

// ErrNoTerminal is returned for a session without terminal output.
var ErrNoTerminal = errors.New("session has no terminal recording")

// Asciicast writes the terminal stream of tl as asciicast v2
// (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then
// [seconds, "o"|"i"|"r", data] lines.
func Asciicast(w io.Writer, tl *Timeline) error {
	cols, rows := defaultCols, defaultRows
	var start time.Time
	seen := false
	for _, e := range tl.Entries {
		if t := e.Event.Terminal; t != nil {
			if !seen {
				start, seen = e.Time, true
			}
			if t.Stream == "r" && t.Cols > 0 && e.Time.Equal(start) {
				cols, rows = t.Cols, t.Rows
			}
		}
	}
	if !seen {
		return ErrNoTerminal
	}
	enc := json.NewEncoder(w)
	hdr := map[string]any{"version": 2, "width": cols, "height": rows, "timestamp": start.Unix(),
		"title": fmt.Sprintf("%s on %s (%s)", tl.Session.Agent, tl.Session.Connection, tl.Session.ID)}
	if err := enc.Encode(hdr); err != nil {
		return fmt.Errorf("writing asciicast: %w", err)
	}
	for _, e := range tl.Entries {
		t := e.Event.Terminal
		if t == nil {
			continue
		}
		data := string(t.Data)
		if t.Stream == "r" {
			data = fmt.Sprintf("%dx%d", t.Cols, t.Rows)
		}
		if err := enc.Encode([]any{e.Time.Sub(start).Seconds(), t.Stream, data}); err != nil {
			return fmt.Errorf("writing asciicast: %w", err)
		}
	}
	return nil
}

// Replay writes the output stream of tl to w with its original timing
// divided by speed (speed <= 0 writes at once). It stops when ctx ends.
func Replay(ctx context.Context, w io.Writer, tl *Timeline, speed float64) error {
	var prev time.Time
	seen := false
	for _, e := range tl.Entries {
		t := e.Event.Terminal
		if t == nil || t.Stream != "o" {
			continue
		}
		if seen && speed > 0 {
			d := time.Duration(float64(e.Time.Sub(prev)) / speed)
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		prev, seen = e.Time, true
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("replaying: %w", err)
		}
	}
	if !seen {
		return ErrNoTerminal
	}
	return nil
}
