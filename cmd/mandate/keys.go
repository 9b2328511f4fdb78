package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/runtime/identity"
)

func init() { register(newKeysCmd) }

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Generate signing keys and print their JWKS",
	}
	cmd.AddCommand(newKeysGenerateCmd(), newKeysJWKSCmd())
	return cmd
}

func newKeysGenerateCmd() *cobra.Command {
	var alg, out, format string
	cmd := &cobra.Command{
		Use:   "generate --alg ES256|RS256 --out PREFIX",
		Short: "Write a new key pair to PREFIX.key and PREFIX.pub (PEM)",
		Long: `generate writes a new key pair: PREFIX.key (PKCS #8 private key, mode 0600)
and PREFIX.pub (PKIX public key). ES256 is ECDSA P-256, RS256 is RSA 3072.
The key id (kid) is derived from the public key: the first 16 characters of
the base64url SHA-256 of its PKIX encoding. Existing files are not
overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTextJSON(format); err != nil {
				return err
			}
			if out == "" {
				return usageError{fmt.Errorf("--out PREFIX is required")}
			}
			if alg != bundle.ES256 && alg != bundle.RS256 {
				return usageError{fmt.Errorf("unknown --alg %q (want ES256 or RS256)", alg)}
			}
			priv, pub, err := bundle.GenerateKey(alg)
			if err != nil {
				return err
			}
			if err := writeNew(out+".key", priv, 0o600); err != nil {
				return err
			}
			if err := writeNew(out+".pub", pub, 0o644); err != nil {
				return err
			}
			kid, err := bundle.KeyIDFromPEM(pub)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return json.NewEncoder(w).Encode(map[string]string{
					"alg": alg, "kid": kid, "private_key": out + ".key", "public_key": out + ".pub",
				})
			}
			fmt.Fprintf(w, "wrote %s.key and %s.pub (%s, key id %s)\n", out, out, alg, kid)
			return nil
		},
	}
	cmd.Flags().StringVar(&alg, "alg", bundle.ES256, "algorithm: ES256 or RS256")
	cmd.Flags().StringVar(&out, "out", "", "path prefix of the key files")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newKeysJWKSCmd() *cobra.Command {
	var kid string
	cmd := &cobra.Command{
		Use:   "jwks PREFIX.pub",
		Short: "Print the JSON Web Key Set of a public key",
		Long: `jwks prints a JWKS holding the PEM public key, for an issuer's jwks_file in
the gateway configuration. The kid is the key id derived from the key (see
"mandate keys generate"), which is also what "mandate token issue" puts in
the tokens it mints and what bundle signatures name.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("reading public key: %w", err)
			}
			pub, err := identity.ParsePublicKeyPEM(data)
			if err != nil {
				return fmt.Errorf("reading public key %s: %w", args[0], err)
			}
			if kid == "" {
				if kid, err = identity.KeyID(pub); err != nil {
					return err
				}
			}
			out, err := identity.JWKS(pub, kid)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(append(out, '\n'))
			return err
		},
	}
	cmd.Flags().StringVar(&kid, "kid", "", "key id (default: derived from the key)")
	return cmd
}

// writeNew creates path with data, refusing to overwrite.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func checkTextJSON(format string) error {
	if format != "text" && format != "json" {
		return usageError{fmt.Errorf("unknown --format %q (want text or json)", format)}
	}
	return nil
}

// readVerificationKeys reads PEM public keys and keys them by key id.
func readVerificationKeys(paths []string) (map[string][]byte, error) {
	keys := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading verification key: %w", err)
		}
		kid, err := bundle.KeyIDFromPEM(data)
		if err != nil {
			return nil, fmt.Errorf("reading verification key %s: %w", p, err)
		}
		keys[kid] = data
	}
	return keys, nil
}
