package gateway

import (
	"io"
	"log/slog"
)

// NewLogger returns the gateway's structured JSON logger at level (debug,
// info, warn or error; anything else is info).
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})).With("component", "gateway")
}
