package bundle_test

import (
	"bytes"
	"encoding/json"
	"io"
)

// jsonIndent pretty-prints JSON so golden files diff line by line.
func jsonIndent(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
