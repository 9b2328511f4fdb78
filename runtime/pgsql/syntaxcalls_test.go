package pgsql

import (
	"slices"
	"testing"
)

// TestSyntaxCallBuiltins: the constructs only the PostgreSQL 16/17
// grammar reads as syntax are calls of a function of that name on an older
// server, so they are reported as Builtins for the proxy's search-path
// check (round 21).
func TestSyntaxCallBuiltins(t *testing.T) {
	cases := map[string]string{
		"SELECT json_array(name) FROM t":                       "json_array",
		"SELECT JSON_ARRAY(SELECT name FROM t)":                "json_array",
		"SELECT json_object('a' : name) FROM t":                "json_object",
		"SELECT json_object(ARRAY[name]) FROM t":               "json_object",
		"SELECT json(name) FROM t":                             "json",
		"SELECT json_scalar(name) FROM t":                      "json_scalar",
		"SELECT json_serialize(name) FROM t":                   "json_serialize",
		"SELECT json_value(name, '$') FROM t":                  "json_value",
		"SELECT json_query(name, '$') FROM t":                  "json_query",
		"SELECT id FROM t WHERE json_exists(name, '$')":        "json_exists",
		"SELECT json_arrayagg(name) FROM t":                    "json_arrayagg",
		"SELECT json_objectagg(name : id) FROM t":              "json_objectagg",
		"SELECT merge_action()":                                "merge_action",
		"PREPARE p AS SELECT json_scalar(name) FROM t":         "json_scalar",
		"EXPLAIN SELECT (SELECT json_array(name) FROM t)":      "json_array",
		"DECLARE c CURSOR FOR SELECT json(name) FROM t":        "json",
		"COPY (SELECT json_value(name, '$') FROM t) TO STDOUT": "json_value",
	}
	for sql, want := range cases {
		res, err := Analyze(sql, Options{})
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		an := res[0]
		if !slices.Contains(an.Builtins, want) {
			t.Errorf("%s: Builtins %v, want %s among them", sql, an.Builtins, want)
		}
		if an.Prepared != nil && !slices.Contains(an.Prepared.Builtins, want) {
			t.Errorf("%s: the prepared statement's Builtins %v, want %s among them", sql, an.Prepared.Builtins, want)
		}
	}
	// Ordinary built-ins are not affected.
	res, err := Analyze("SELECT json_build_array(name), to_json(name) FROM t", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Builtins; !slices.Equal(got, []string{"json_build_array", "to_json"}) {
		t.Errorf("Builtins %v, want [json_build_array to_json]", got)
	}
}
