package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"sort"
)

func gzipReader(raw []byte) (io.Reader, error) {
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, rejectf(ErrTruncated, "reading bundle archive: %w", err)
	}
	return gz, nil
}

func newTarReader(r io.Reader) *tar.Reader { return tar.NewReader(r) }

func isRegular(h *tar.Header) bool { return h.Typeflag == tar.TypeReg }

func isDir(h *tar.Header) bool { return h.Typeflag == tar.TypeDir }

func sortFiles(files []FileSummary) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
}
