package bundle

import (
	"bytes"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
)

// fixturePolicy is the Rego library's fixture policy, shared with policies/.
func fixturePolicy(t testing.TB) *model.Policy {
	t.Helper()
	raw, err := os.ReadFile("../../policies/testdata/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var p model.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

type keyPair struct{ priv, pub []byte }

var (
	keysOnce sync.Once
	testKeys map[string]keyPair
)

// keys returns one ES256 and one RS256 pair plus a second ES256 pair
// ("other"), generated once per test binary.
func keys(t testing.TB) map[string]keyPair {
	t.Helper()
	keysOnce.Do(func() {
		testKeys = map[string]keyPair{}
		for name, alg := range map[string]string{"es": ES256, "rs": RS256, "other": ES256} {
			priv, pub, err := GenerateKey(alg)
			if err != nil {
				panic(err)
			}
			testKeys[name] = keyPair{priv, pub}
		}
	})
	return testKeys
}

func kid(t testing.TB, pub []byte) string {
	t.Helper()
	id, err := KeyIDFromPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var testCommitTime = time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)

// signedBytes builds and writes a bundle of the fixture signed with key.
func signedBytes(t testing.TB, key keyPair) []byte {
	t.Helper()
	b, err := Build(fixturePolicy(t), Options{Revision: "0123456789abcdef0123456789abcdef01234567", CommitTime: testCommitTime, SigningKey: key.priv})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
