package bundlesrc

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// httpSource polls an HTTPS URL with If-None-Match.
type httpSource struct {
	url    string
	client *http.Client
	opts   Options
	// etag of the last 200 response; owned by the poll goroutine.
	etag string
}

var _ fetcher = (*httpSource)(nil)

func newHTTPSource(url string, opts Options) *httpSource {
	c := opts.Client
	if c == nil {
		c = &http.Client{Timeout: FetchTimeout}
	}
	return &httpSource{url: url, client: c, opts: opts}
}

func (s *httpSource) String() string { return s.url }

func (s *httpSource) Run(ctx context.Context, deliver Deliver) {
	poll(ctx, s, s.opts.Poll, nil, deliver)
}

func (s *httpSource) fetch(ctx context.Context) ([]byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, false, fmt.Errorf("fetching bundle %s: %w", s.url, err)
	}
	req.Header.Set("Accept", "application/gzip, application/octet-stream")
	if s.etag != "" {
		req.Header.Set("If-None-Match", s.etag)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("fetching bundle %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		if s.etag == "" {
			return nil, false, fmt.Errorf("fetching bundle %s: 304 Not Modified to a request without an ETag", s.url)
		}
		return nil, true, nil
	case http.StatusOK:
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, false, fmt.Errorf("fetching bundle %s: HTTP %s", s.url, resp.Status)
	}
	if resp.ContentLength > s.opts.MaxSize {
		return nil, false, fmt.Errorf("fetching bundle %s: Content-Length %d: %w (%d bytes)", s.url, resp.ContentLength, ErrTooLarge, s.opts.MaxSize)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.MaxSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("fetching bundle %s: reading body: %w", s.url, err)
	}
	if int64(len(data)) > s.opts.MaxSize {
		return nil, false, fmt.Errorf("fetching bundle %s: %w (%d bytes)", s.url, ErrTooLarge, s.opts.MaxSize)
	}
	s.etag = resp.Header.Get("ETag")
	return data, false, nil
}
