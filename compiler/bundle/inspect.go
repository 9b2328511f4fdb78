package bundle

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/mandatehq/mandate/model"
)

// Inspect reads a bundle's manifest and model WITHOUT verifying its
// signature, for tools that only display or compare policy (mandate diff
// without --key). Never activate or decide with an inspected bundle; use Load.
func Inspect(r io.Reader, opts LoadOptions) (*Loaded, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	raw, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading bundle: %w", err)
	}
	if int64(len(raw)) > max {
		return nil, rejectf(ErrOversized, "reading bundle: larger than the limit of %d bytes", max)
	}
	entries, err := readEntries(raw, max)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(entries[ManifestPath], &m); err != nil {
		return nil, fmt.Errorf("reading bundle manifest: %w", err)
	}
	var p model.Policy
	if err := json.Unmarshal(entries[DataPath], &p); err != nil {
		return nil, fmt.Errorf("reading %s: %w", DataPath, err)
	}
	return &Loaded{Revision: m.Revision, SchemaVersion: m.Metadata.SchemaVersion, Policy: &p}, nil
}
