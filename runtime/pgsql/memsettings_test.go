package pgsql

import (
	"context"
	"testing"
)

// TestMemorySettings: work_mem, temp_buffers and hash_mem_multiplier may
// be changed up to a cap, so that one session cannot run the shared
// server out of memory; a value the gateway cannot read is refused.
func TestMemorySettings(t *testing.T) {
	refused := []string{
		"SET work_mem = '2TB'", "SET work_mem = '257MB'", "SET work_mem = 262145", "SET work_mem = '1GB'",
		"SET work_mem = '0.3GB'", "SET LOCAL work_mem = '300000kB'", "SET work_mem = '257 MB '",
		"SET work_mem = '1gb'", "SET work_mem = 'lots'", "SET work_mem = '1e9'", "SELECT set_config('work_mem', '4GB', false)",
		"SELECT set_config('work_mem', $1, true)", "SET temp_buffers = 32769", "SET temp_buffers = '1GB'",
		"SET hash_mem_multiplier = 1000", "SET hash_mem_multiplier = 4.5", "SET hash_mem_multiplier = '8'",
		"SET hash_mem_multiplier = '2x'", "SELECT set_config('hash_mem_multiplier', '100', false)",
	}
	allowed := []string{
		"SET work_mem = '64MB'", "SET work_mem = '256MB'", "SET work_mem = ' 256 MB '", "SET work_mem = 262144", "SET work_mem = '0.25GB'",
		"SET work_mem TO DEFAULT", "RESET work_mem", "SET work_mem = '4096kB'", "SET LOCAL work_mem = 65536",
		"SELECT set_config('work_mem', '128MB', false)", "SET temp_buffers = 32768", "SET temp_buffers = '64MB'",
		"SET hash_mem_multiplier = 4", "SET hash_mem_multiplier = 1.5", "SET hash_mem_multiplier = '2'",
		"RESET hash_mem_multiplier",
	}
	checkForbidden(t, forbiddenCases(refused, allowed, "out of memory"))
}

// forbiddenCases are checkForbidden's cases for statements of refused,
// forbidden with a reason holding want, and of allowed, not forbidden.
func forbiddenCases(refused, allowed []string, want string) []forbiddenCase {
	var cases []forbiddenCase
	for _, sql := range refused {
		cases = append(cases, forbiddenCase{sql: sql, want: want})
	}
	for _, sql := range allowed {
		cases = append(cases, forbiddenCase{sql: sql})
	}
	return cases
}

// TestMemoryCapsAgainstPostgres: the server reads the largest values the
// gateway allows as the cap, in the units the gateway assumes.
func TestMemoryCapsAgainstPostgres(t *testing.T) {
	conn := connectPG(t)
	ctx := context.Background()
	for _, tc := range []struct{ set, show, want string }{
		{"SET work_mem = 262144", "SELECT pg_size_bytes(current_setting('work_mem'))::text", "268435456"},
		{"SET work_mem = '0.25GB'", "SELECT pg_size_bytes(current_setting('work_mem'))::text", "268435456"},
		{"SET temp_buffers = 32768", "SELECT pg_size_bytes(current_setting('temp_buffers'))::text", "268435456"},
		{"SET hash_mem_multiplier = '4'", "SELECT current_setting('hash_mem_multiplier')", "4"},
	} {
		res, err := Analyze(tc.set, Options{})
		if err != nil || res[0].Statement.Forbidden != "" {
			t.Fatalf("%s: %v %q", tc.set, err, res[0].Statement.Forbidden)
		}
		var got string
		if _, err := conn.Exec(ctx, tc.set); err != nil {
			t.Fatalf("%s: %v", tc.set, err)
		}
		if err := conn.QueryRow(ctx, tc.show).Scan(&got); err != nil {
			t.Fatalf("%s: %v", tc.show, err)
		}
		if got != tc.want {
			t.Errorf("%s: the server holds %s, want %s", tc.set, got, tc.want)
		}
	}
}
