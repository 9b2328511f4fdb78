package bundle

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"time"
)

// fixedModTime is the mtime of every tar entry: no wall-clock time enters a
// bundle.
var fixedModTime = time.Unix(0, 0).UTC()

// writeTarGz writes files, in order, as a tar.gz with fixed headers so that
// the same files give the same bytes. Paths get OPA's leading slash.
func writeTarGz(w io.Writer, files []File) error {
	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("creating gzip writer: %w", err)
	}
	gz.Header.ModTime = time.Time{}
	gz.Header.OS = 255
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     "/" + f.Path,
			Mode:     0o644,
			Size:     int64(len(f.Data)),
			ModTime:  fixedModTime,
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing tar header for %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("closing tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("closing gzip: %w", err)
	}
	return nil
}
