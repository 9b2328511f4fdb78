package pemkey

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func TestParseAndKeyID(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte { b, _ := x509.MarshalPKCS8PrivateKey(k); return b }
	sec1, _ := x509.MarshalECPrivateKey(ec)
	tests := []struct {
		name string
		typ  string
		der  []byte
		pub  any
	}{
		{"pkcs8 ecdsa", "PRIVATE KEY", pkcs8(ec), ec.Public()},
		{"sec1 ecdsa", "EC PRIVATE KEY", sec1, ec.Public()},
		{"pkcs1 rsa", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rs), rs.Public()},
		{"pkcs8 ed25519", "PRIVATE KEY", pkcs8(ed), ed.Public()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParsePrivate(pem.EncodeToMemory(&pem.Block{Type: tc.typ, Bytes: tc.der}))
			if err != nil {
				t.Fatal(err)
			}
			pubDER, _ := x509.MarshalPKIXPublicKey(tc.pub)
			pub, err := ParsePublic(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
			if err != nil {
				t.Fatal(err)
			}
			a, err := KeyID(s.Public())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := KeyID(pub)
			if a != b || len(a) != 16 {
				t.Errorf("key ids %q and %q, want equal and 16 characters", a, b)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
		public         bool
	}{
		{"no PEM", "hello", "no PEM block", false},
		{"public as private", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a private key", false},
		{"garbage DER", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "parsing PRIVATE KEY", false},
		{"private as public", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a public key", true},
		{"no PEM public", "", "no PEM block", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.public {
				_, err = ParsePublic([]byte(tc.in))
			} else {
				_, err = ParsePrivate([]byte(tc.in))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePrivate(b)
		_, _ = ParsePublic(b)
	})
}
