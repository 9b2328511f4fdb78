package pgsql

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Memory settings a session may change, up to a cap: PostgreSQL lets a
// session raise work_mem to 2 TB and hash_mem_multiplier to 1000, and
// every sort and hash of a query (and of its parallel workers) may then
// hold that much, so one agent could run the shared server out of memory,
// ending every session on it. The caps are generous for analytics and far
// from that.
var memoryCaps = map[string]struct {
	max  float64 // in bytes, or a factor (unit "")
	unit float64 // bytes of a value written without a unit; 0: a factor
	text string
}{
	"work_mem":            {max: 256 << 20, unit: 1 << 10, text: "256MB"},
	"temp_buffers":        {max: 256 << 20, unit: 8 << 10, text: "256MB"},
	"hash_mem_multiplier": {max: 4, text: "4"},
}

// memoryUnits are the memory units PostgreSQL accepts (case-sensitive).
var memoryUnits = map[string]float64{"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}

// memoryRefused returns why name may not be set to value (nil: its
// default), or "" when it may: a value over the cap, or one that is no
// literal the gateway can read (fail closed).
func memoryRefused(name string, value []*pg_query.Node) string {
	c, ok := memoryCaps[name]
	if !ok || value == nil {
		return ""
	}
	refused := fmt.Sprintf("setting %s above %s (or to a value the gateway cannot read) could run the server out of memory for every session", name, c.text)
	if len(value) != 1 {
		return refused
	}
	k := value[0].GetAConst()
	if k == nil {
		return refused
	}
	var n float64
	switch x := k.Val.(type) {
	case *pg_query.A_Const_Ival:
		n = float64(x.Ival.GetIval())
	case *pg_query.A_Const_Fval:
		f, err := strconv.ParseFloat(x.Fval.GetFval(), 64)
		if err != nil {
			return refused
		}
		n = f
	case *pg_query.A_Const_Sval:
		v, ok := memoryValue(x.Sval.GetSval(), c.unit)
		if !ok {
			return refused
		}
		n = v
	default:
		return refused
	}
	if c.unit != 0 {
		if _, isString := k.Val.(*pg_query.A_Const_Sval); !isString {
			n *= c.unit
		}
	}
	if n != n || n > c.max {
		return refused
	}
	return ""
}

// memoryValue reads a setting's string value: a number with an optional
// unit (a factor setting, unit 0, takes none), in bytes for a memory
// setting; ok is false for anything else.
func memoryValue(s string, unit float64) (float64, bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == '+' && i == 0) {
		i++
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || n < 0 {
		return 0, false
	}
	u := strings.TrimSpace(s[i:])
	if unit == 0 {
		return n, u == ""
	}
	if u == "" {
		return n * unit, true
	}
	m, ok := memoryUnits[u]
	return n * m, ok
}
