package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mandatehq/mandate/model"
)

// ClientTimeout bounds one API call of Client.
const ClientTimeout = 30 * time.Second

// Client calls a gateway's API.
type Client struct {
	// BaseURL is the API's root, such as "https://127.0.0.1:8080".
	BaseURL string
	// HTTPClient defaults to one with ClientTimeout.
	HTTPClient *http.Client
	// Token, when set, is sent as a bearer token.
	Token string
}

// NewClient returns a client for baseURL that trusts the PEM certificates
// in caFile (such as a gateway's self-signed state/tls/gateway.crt) besides
// the system roots; caFile "" uses the system roots only.
func NewClient(baseURL, caFile, token string) (*Client, error) {
	c := &Client{BaseURL: baseURL, Token: token}
	if caFile == "" {
		return c, nil
	}
	pemData, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("reading CA file %s: no PEM certificate", caFile)
	}
	c.HTTPClient = &http.Client{Timeout: ClientTimeout, Transport: &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	return c, nil
}

// Decide asks the gateway at baseURL for a dry-run decision and returns the
// overall decision. A problem answer is returned as a *Problem error.
func Decide(ctx context.Context, baseURL string, req DecideRequest) (model.Decision, error) {
	resp, err := (&Client{BaseURL: baseURL}).Decide(ctx, req)
	if err != nil {
		return model.Decision{}, err
	}
	return resp.Decision, nil
}

// Decide posts req to /v1/decide.
func (c *Client) Decide(ctx context.Context, req DecideRequest) (*DecideResponse, error) {
	var out DecideResponse
	if err := c.do(ctx, http.MethodPost, "/v1/decide", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Bundle gets /v1/bundle.
func (c *Client) Bundle(ctx context.Context) (*BundleStatus, error) {
	var out BundleStatus
	if err := c.do(ctx, http.MethodGet, "/v1/bundle", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	url := strings.TrimRight(c.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("calling %s: %w", url, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: ClientTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading answer of %s: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		p := &Problem{Status: resp.StatusCode, Title: resp.Status}
		if json.Unmarshal(data, p) != nil || p.Title == "" {
			p.Title, p.Detail = resp.Status, strings.TrimSpace(string(data))
		}
		return p
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding answer of %s: %w", url, err)
	}
	return nil
}
