package pgsql

import (
	"strconv"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

const pgbenchSelect = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"

// BenchmarkAnalyze measures the uncached analysis of pgbench -S's query.
func BenchmarkAnalyze(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(pgbenchSelect, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzerCached measures the Analyzer on a repeated text (the
// extended protocol, or the same simple query again).
func BenchmarkAnalyzerCached(b *testing.B) {
	an := NewAnalyzer(Options{}, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := an.Analyze(pgbenchSelect); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzerLiterals measures the Analyzer on pgbench -S in simple
// mode: the same shape with a different literal each time.
func BenchmarkAnalyzerLiterals(b *testing.B) {
	an := NewAnalyzer(Options{}, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		q := "SELECT abalance FROM pgbench_accounts WHERE aid = " + strconv.Itoa(i%100000) + ";"
		if _, err := an.Analyze(q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseOnly(b *testing.B) {
	for b.Loop() {
		pg_query.Parse(pgbenchSelect)
	}
}

func BenchmarkFingerprintOnly(b *testing.B) {
	for b.Loop() {
		pg_query.Fingerprint(pgbenchSelect)
	}
}

func BenchmarkScanOnly(b *testing.B) {
	for b.Loop() {
		pg_query.Scan(pgbenchSelect)
	}
}
