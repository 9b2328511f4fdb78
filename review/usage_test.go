package review

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/chain"
)

func TestShellCommandMatchesRecorder(t *testing.T) {
	if ShellCommand != audit.ShellCommand {
		t.Fatalf("review.ShellCommand %q != audit.ShellCommand %q", ShellCommand, audit.ShellCommand)
	}
}

func TestParseUsage(t *testing.T) {
	pub, priv := testKey()
	otherPub, _, _ := ed25519.GenerateKey(nil)
	plain, _ := json.Marshal(testUsage())
	signed := signedUsage(t, testUsage(), priv)
	tampered := strings.Replace(string(signed), `"alg": "ed25519"`, `"alg": "ed25519", "x": 1`, 1)
	var su map[string]any
	json.Unmarshal(signed, &su)
	su["signature"] = base64.StdEncoding.EncodeToString(make([]byte, 64))
	badSig, _ := json.Marshal(su)
	tests := []struct {
		name     string
		data     []byte
		key      ed25519.PublicKey
		verified bool
		err      string
	}{
		{"plain", plain, nil, false, ""},
		{"signed, no key", signed, nil, false, ""},
		{"signed, key", signed, pub, true, ""},
		{"signed, extra field", []byte(tampered), pub, true, ""},
		{"signed, wrong key", signed, otherPub, false, "signature does not match"},
		{"bad signature", badSig, pub, false, "signature does not match"},
		{"plain with key", plain, pub, false, "not signed"},
		{"garbage", []byte("{"), nil, false, "decoding usage"},
		{"no window", []byte(`{"agents":[]}`), nil, false, "since and until"},
		{"reversed window", []byte(`{"since":"2026-02-01T00:00:00Z","until":"2026-01-01T00:00:00Z"}`), nil, false, "before since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseUsage(tt.data, tt.key)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Verified != tt.verified || len(l.Usage.Grants) != 4 {
				t.Errorf("verified=%v grants=%d", l.Verified, len(l.Usage.Grants))
			}
		})
	}
}

// TestParseUsageRecorderExport checks that an export signed by the
// recorder's own code is accepted.
func TestParseUsageRecorderExport(t *testing.T) {
	k, err := chain.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	su, err := audit.SignUsage(testUsage(), k)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(su)
	pub, err := ParsePublicKey(chain.MarshalPublicKey(k.Public))
	if err != nil {
		t.Fatal(err)
	}
	if l, err := ParseUsage(data, pub); err != nil || !l.Verified {
		t.Fatalf("recorder export: %v", err)
	}
}

func TestParsePublicKey(t *testing.T) {
	pub, _ := testKey()
	for name, in := range map[string]string{
		"pem":    string(chain.MarshalPublicKey(pub)),
		"base64": base64.StdEncoding.EncodeToString(pub),
		"hex":    hex.EncodeToString(pub) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParsePublicKey([]byte(in))
			if err != nil || !got.Equal(pub) {
				t.Errorf("got %x, %v", got, err)
			}
		})
	}
	for _, bad := range []string{"", "nope", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "ssh-ed25519 AAAA"} {
		if _, err := ParsePublicKey([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestFetchUsage(t *testing.T) {
	_, priv := testKey()
	body := signedUsage(t, testUsage(), priv)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/audit/usage" || r.Header.Get("Authorization") != "Bearer auditor" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"title":"Unauthorized","detail":"an auditor token is required"}`))
			return
		}
		if _, err := time.Parse(time.RFC3339, r.URL.Query().Get("since")); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	got, err := FetchUsage(context.Background(), srv.Client(), srv.URL+"/", "auditor", date("2026-08-28"))
	if err != nil || string(got) != string(body) {
		t.Fatalf("fetch: %v", err)
	}
	_, err = FetchUsage(context.Background(), srv.Client(), srv.URL, "wrong", date("2026-08-28"))
	if err == nil || !strings.Contains(err.Error(), "an auditor token is required") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParseUsage(f *testing.F) {
	_, priv := testKey()
	plain, _ := json.Marshal(testUsage())
	f.Add(plain)
	f.Add(signedUsage(f, testUsage(), priv))
	f.Add([]byte(`{"payload":"e30=","signature":"","alg":"ed25519"}`))
	f.Add([]byte("{"))
	pub, _ := testKey()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, key := range []ed25519.PublicKey{nil, pub} {
			l, err := ParseUsage(data, key)
			if err != nil {
				continue
			}
			// Whatever parses can be reviewed without a panic.
			if _, err := Propose(testPolicy(), l.Usage, Options{Now: date("2026-11-26"), Roles: []string{"order_reader"}}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzEditFile(f *testing.F) {
	for _, s := range []string{"role \"order_reader\" {\n  postgres \"orders_db\" {\n    tables = [\"a\", \"b\",]\n  }\n}\n",
		"agent \"legacy-batch\" {}\n", "role \"x\" {\n review {\n last_reviewed = \"x\"\n }\n}\n"} {
		f.Add([]byte(s))
	}
	props := []Proposal{
		{Kind: RemoveTable, Role: "order_reader", GrantKind: "postgres", Connection: "orders_db", Value: "a"},
		{Kind: NarrowTable, Role: "order_reader", GrantKind: "postgres", Connection: "orders_db", Value: "b", Replacement: []string{"c", "d"}},
		{Kind: RemoveGrant, Role: "order_reader", GrantKind: "ssh", Connection: "h"},
		{Kind: RemoveAgent, Agent: "legacy-batch"},
		{Kind: SetLastReviewed, Role: "x", Value: "2026-11-26"},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, _, err := EditFile(src, "f.hcl", props)
		if err != nil {
			return
		}
		// A file that parsed before the edits parses after them.
		if _, diags := hclsyntax.ParseConfig(src, "f.hcl", hcl.InitialPos); diags.HasErrors() {
			return
		}
		if _, diags := hclsyntax.ParseConfig(out, "f.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Fatalf("edited file does not parse: %v\n--- before\n%s\n--- after\n%s", diags, src, out)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	pub, _ := testKey()
	f.Add(chain.MarshalPublicKey(pub))
	f.Add([]byte(base64.StdEncoding.EncodeToString(pub)))
	f.Add([]byte("ssh-ed25519 AAAA"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParsePublicKey(data); err == nil && len(k) != ed25519.PublicKeySize {
			t.Fatalf("key of %d bytes accepted", len(k))
		}
	})
}

func FuzzParseGitHubRemote(f *testing.F) {
	for _, s := range []string{"https://github.com/acme/policy.git", "git@github.com:acme/policy.git", "ssh://git@h/a/b", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if o, r, err := ParseGitHubRemote(s); err == nil && (o == "" || r == "" || strings.Contains(o+r, "/")) {
			t.Fatalf("%q -> %q/%q", s, o, r)
		}
	})
}
