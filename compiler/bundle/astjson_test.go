package bundle

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

var jsonCases = []string{
	`{}`,
	`[]`,
	`{"b":"<a&b> é \u2028 \u0001 \"q\" \\ /","a":[1,1.50,-2e3,true,null,{}],"c":{"z":1,"y":[]}}`,
	"[\"\xff invalid utf-8\", 12345678901234567890]",
	` { "a" : [ 1 , 2 ] , "a" : "last" } `,
	`{"a":"x","a":"x"}`,
	`{"s":"\ud83d\ude00 \ud800 tab\t"}`,
	`[0, -0, 0.5e+10, 1E-2, "x"]`,
	`"just a string"`,
	`{"k": false}`,
}

var badJSON = []string{``, `{`, `[1,]`, `{"a"}`, `{"a":1,}`, `01`, `1.`, `-`, `1e`, `tru`, `"open`, "\"ctl\x01\"", `{} x`, `[1 2]`, `{1:2}`, `nul`}

// TestParseJSONValue holds the direct decoder to what OPA's own path gives:
// util.Unmarshal (numbers as written) then ast.InterfaceToValue.
func TestParseJSONValue(t *testing.T) {
	for _, in := range jsonCases {
		t.Run(in, func(t *testing.T) {
			got, err := parseJSONValue([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := util.Unmarshal([]byte(in), &doc); err != nil {
				t.Fatal(err)
			}
			want, err := ast.InterfaceToValue(doc)
			if err != nil {
				t.Fatal(err)
			}
			if want.Compare(got) != 0 {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	for _, in := range badJSON {
		t.Run("bad "+in, func(t *testing.T) {
			if v, err := parseJSONValue([]byte(in)); err == nil {
				t.Errorf("accepted %q as %v", in, v)
			}
		})
	}
}

func FuzzParseJSONValue(f *testing.F) {
	for _, in := range append(jsonCases, badJSON...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := parseJSONValue(in)
		var doc any
		werr := util.Unmarshal(in, &doc)
		if (err == nil) != (werr == nil && json.Valid(in)) {
			t.Fatalf("parseJSONValue error %v, encoding/json error %v", err, werr)
		}
		if err != nil {
			return
		}
		want, err := ast.InterfaceToValue(doc)
		if err != nil {
			t.Fatal(err)
		}
		if want.Compare(got) != 0 {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

// TestLoadNonCanonicalData: a data.json that is not byte-for-byte canonical
// (another builder, indented) still verifies, through the decode and
// re-encode path, and yields the same data.
func TestLoadNonCanonicalData(t *testing.T) {
	key := keys(t)["es"]
	good := signedBytes(t, key)
	indented := resign(t, good, key, func(files []File) []File {
		for i, f := range files {
			if f.Path == DataPath {
				var buf bytes.Buffer
				if err := json.Indent(&buf, f.Data, "", "  "); err != nil {
					t.Fatal(err)
				}
				files[i].Data = buf.Bytes()
			}
		}
		return files
	})
	pub := map[string][]byte{kid(t, key.pub): key.pub}
	a, err := Load(bytes.NewReader(good), pub, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(bytes.NewReader(indented), pub, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Data.Compare(b.Data) != 0 {
		t.Error("canonical and indented data.json decode differently")
	}
	tampered := edit(t, indented, replaceIn(DataPath, "orders_db", "orders_dc"))
	if _, err := Load(bytes.NewReader(tampered), pub, LoadOptions{}); err == nil {
		t.Error("tampered non-canonical data.json verified")
	}
}
