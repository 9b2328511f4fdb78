package masking

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testKey = []byte("test-key")

func TestMethods(t *testing.T) {
	tests := []struct {
		method, in string
		want       string
		wantNull   bool
	}{
		{"redact", "4111111111111111", "[REDACTED]", false},
		{"redact", "", "[REDACTED]", false},
		{"null", "anything", "", true},
		{"hash", "4111111111111111", "h:b9a296a413d12fc6", false},
		{"hash", "alice@example.com", "h:f4ec100211f13d19", false},
		{"hash", "secret", "h:9d5ff9421d787dcd", false},
		{"email", "alice@example.com", "****@example.com", false},
		{"email", "a.b+c@mail.example.co.uk", "****@mail.example.co.uk", false},
		{"email", "not an address", "****", false},
		{"email", "trailing@", "****", false},
		{"email", "admin@localhost", "****@localhost", false},
		// After the last '@' only a domain is kept.
		{"email", "call me @ 736-45-5928", "****", false},
		{"email", "a@b@827-36-4591", "****", false},
		{"email", "a@example.c0m", "****", false},
		{"email", "a@example.c", "****", false},
		{"partial", "x@827-36-4591", "x***********1", false},
		{"partial", "alice@example.com", "a***@example.com", false},
		{"partial", "élodie@example.fr", "é***@example.fr", false},
		{"partial", "4111111111111234", "************1234", false},
		{"partial", "4111 1111 1111 1234", "**** **** **** 1234", false},
		{"partial", "123-45-6789", "***-**-6789", false},
		{"partial", "DE89370400440532013000", "******************3000", false},
		{"partial", "Jonathan", "J******n", false},
		{"partial", "Zoë Ångström", "Z**********m", false},
		{"partial", "Bob", "***", false},
		{"partial", "", "", false},
		{"partial", "\xff\xfe\xfd\xfc\xfb", "*****", false},
	}
	for _, tc := range tests {
		t.Run(tc.method+"/"+tc.in, func(t *testing.T) {
			m, err := NewMethod(tc.method, testKey)
			if err != nil {
				t.Fatal(err)
			}
			in := []byte(tc.in)
			got, null := m.Apply(in)
			if null != tc.wantNull {
				t.Errorf("isNull = %v, want %v", null, tc.wantNull)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if string(in) != tc.in {
				t.Errorf("Apply modified its input: %q", in)
			}
		})
	}
}

func TestHashKeyed(t *testing.T) {
	a, _ := NewMethod("hash", []byte("key-a"))
	b, _ := NewMethod("hash", []byte("key-b"))
	va, _ := a.Apply([]byte("4111111111111111"))
	vb, _ := b.Apply([]byte("4111111111111111"))
	if string(va) == string(vb) {
		t.Error("different keys gave the same hash")
	}
	va2, _ := a.Apply([]byte("4111111111111111"))
	if string(va) != string(va2) {
		t.Error("hash is not deterministic")
	}
}

func TestNewMethodErrors(t *testing.T) {
	if _, err := NewMethod("hash", nil); !errors.Is(err, ErrHashKey) {
		t.Errorf("hash without key: err = %v, want ErrHashKey", err)
	}
	if _, err := NewMethod("shuffle", nil); err == nil {
		t.Error("unknown method accepted")
	}
	for _, name := range Methods() {
		if _, err := NewMethod(name, testKey); err != nil {
			t.Errorf("NewMethod(%q): %v", name, err)
		}
	}
}

func TestIsMethodIsDetector(t *testing.T) {
	for _, m := range Methods() {
		if !IsMethod(m) {
			t.Errorf("IsMethod(%q) = false", m)
		}
	}
	for _, d := range append(BuiltinDetectorNames(), "pattern") {
		if !IsDetector(d) {
			t.Errorf("IsDetector(%q) = false", d)
		}
	}
	if IsMethod("shuffle") || IsDetector("passport") || IsDetector("") {
		t.Error("unknown name accepted")
	}
}
