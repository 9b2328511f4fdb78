package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mandatehq/mandate/runtime/identity"
	"github.com/spf13/cobra"
)

func init() { register(newTokenCmd) }

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint tokens from a local key (quickstarts and tests)",
	}
	cmd.AddCommand(newTokenIssueCmd())
	return cmd
}

func newTokenIssueCmd() *cobra.Command {
	var (
		keyPath, issuer, subject, audience, kid, format string
		ttl                                             time.Duration
		claims                                          []string
	)
	cmd := &cobra.Command{
		Use:   "issue --key PEM --issuer URL --subject SUB --audience AUD",
		Short: "Mint a signed JWT from a local private key",
		Long: `issue signs a JWT with a local private key (PEM: PKCS#8, EC or RSA), so a
quickstart or a test can authenticate to the gateway without an outside
identity provider. Publish the key with "mandate keys jwks PREFIX.pub" and
name that file as the issuer's jwks_file in the gateway configuration.

The algorithm follows the key: RS256 (RSA), ES256/ES384/ES512 (P-256/384/521),
EdDSA (Ed25519). The kid defaults to the key id derived from the public key
(see docs/identity.md). --claim k=v adds a string claim; repeating a key
makes a list.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q (want text or json)", format)}
			}
			extra, err := parseClaimFlags(claims)
			if err != nil {
				return usageError{err}
			}
			pemBytes, err := os.ReadFile(keyPath)
			if err != nil {
				return fmt.Errorf("reading key: %w", err)
			}
			key, err := identity.ParsePrivateKeyPEM(pemBytes)
			if err != nil {
				return fmt.Errorf("reading key %s: %w", keyPath, err)
			}
			if kid == "" {
				if kid, err = identity.KeyID(key.Public()); err != nil {
					return err
				}
			}
			tok, err := identity.IssueToken(key, kid, issuer, subject, audience, ttl, extra)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return json.NewEncoder(out).Encode(map[string]any{
					"token": tok, "kid": kid, "issuer": issuer, "subject": subject, "audience": audience,
					"expires_at": time.Now().Add(ttl).UTC().Truncate(time.Second).Format(time.RFC3339),
				})
			}
			fmt.Fprintln(out, tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyPath, "key", "", "PEM private key file (required)")
	f.StringVar(&issuer, "issuer", "", "issuer URL, the iss claim (required)")
	f.StringVar(&subject, "subject", "", "subject, the sub claim (required)")
	f.StringVar(&audience, "audience", "", "audience, the aud claim (required)")
	f.DurationVar(&ttl, "ttl", 10*time.Minute, "lifetime of the token")
	f.StringArrayVar(&claims, "claim", nil, "extra claim k=v (repeatable; a repeated key makes a list)")
	f.StringVar(&kid, "kid", "", "key id header (default: derived from the public key)")
	f.StringVar(&format, "format", "text", "output format: text (the token alone) or json")
	for _, n := range []string{"key", "issuer", "subject", "audience"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

// parseClaimFlags turns k=v flags into claims; a repeated key makes a list.
func parseClaimFlags(flags []string) (map[string]any, error) {
	lists := map[string][]string{}
	for _, c := range flags {
		k, v, ok := strings.Cut(c, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--claim %q: want key=value", c)
		}
		lists[k] = append(lists[k], v)
	}
	out := map[string]any{}
	keys := make([]string, 0, len(lists))
	for k := range lists {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if vs := lists[k]; len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out, nil
}
