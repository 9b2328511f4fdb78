package pgsql

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// reasonTimeZone is why a TimeZone value is refused. PostgreSQL 15
// computes the day of the week of a timestamptz in the session's zone as
// (julian day + 1) % 7, which is negative for a local date before 4714-11-23
// BC, and indexes the names of the days with it: to_char of a value near
// the start of the range ('4714-11-26 00:00+00 BC'::timestamptz, 'Dy')
// in a zone more than a day west of UTC reads out of bounds, and the
// server process crashes, which ends every session of the server. A zone
// less than 24 hours from UTC keeps every local date of the range at
// julian day -1 or later, where the day of the week is 0 or more.
const reasonTimeZone = "setting TimeZone to a zone 24 hours or more from UTC (or to a value the gateway cannot read as a time zone) " +
	"is not allowed: PostgreSQL 15 crashes formatting day names of timestamps in such zones, which ends every session of the server"

// TimeZoneRefused returns why a TimeZone value given as text (a startup
// parameter, a string in SET or set_config) is refused, or "".
func TimeZoneRefused(value string) string {
	if !zoneTextOK(value) {
		return reasonTimeZone
	}
	return ""
}

// timeZoneRefused is TimeZoneRefused for the value of SET TimeZone, SET
// TIME ZONE or set_config('TimeZone', ...) as the parser gives it: a
// string, a number of hours, an interval (SET TIME ZONE INTERVAL '...');
// anything else (a parameter, a column, a computed value) is refused, as
// the gateway cannot read it.
func timeZoneRefused(value []*pg_query.Node) string {
	if len(value) != 1 {
		return reasonTimeZone
	}
	v := value[0]
	if tc := v.GetTypeCast(); tc != nil {
		names := stringList(tc.GetTypeName().GetNames())
		if len(names) == 0 || names[len(names)-1] != "interval" {
			return reasonTimeZone
		}
		if c := tc.GetArg().GetAConst(); c != nil {
			if s, ok := c.Val.(*pg_query.A_Const_Sval); ok && intervalZoneOK(s.Sval.GetSval()) {
				return ""
			}
		}
		return reasonTimeZone
	}
	c := v.GetAConst()
	if c == nil {
		return reasonTimeZone
	}
	switch x := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		if hoursOK(float64(x.Ival.GetIval())) {
			return ""
		}
	case *pg_query.A_Const_Fval:
		if h, err := strconv.ParseFloat(x.Fval.GetFval(), 64); err == nil && hoursOK(h) {
			return ""
		}
	case *pg_query.A_Const_Sval:
		if zoneTextOK(x.Sval.GetSval()) {
			return ""
		}
	}
	return reasonTimeZone
}

func hoursOK(h float64) bool { return !math.IsNaN(h) && math.Abs(h) < 24 }

var (
	// zoneChars are the characters of IANA zone names and POSIX zone
	// specifications (EST5EDT,M3.2.0/2,M11.1.0, <+0330>-3:30).
	zoneChars = regexp.MustCompile(`^[A-Za-z0-9_+\-/:<>,.]+$`)
	// plainHours is a number of hours PostgreSQL reads with strtod; other
	// text strtod reads whole (exponents, hexadecimal, inf, nan) is
	// refused.
	plainHours = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
	// intervalZone is a SET TIME ZONE INTERVAL value of hours and
	// minutes (and seconds).
	intervalZone = regexp.MustCompile(`^[+-]?([0-9]{1,2})(:[0-9]{1,2}){0,2}$`)
	bracketed    = regexp.MustCompile(`<[^<>]*>`)
	digitRun     = regexp.MustCompile(`[0-9]+`)
)

// zoneTextOK reports a TimeZone string whose offsets from UTC are all less
// than 24 hours. PostgreSQL reads it as a number of hours when strtod reads
// it whole, else as a zone name or POSIX specification (std offset [dst
// [offset]] [,rules]) whose hour fields are the digit runs of the part
// before the rules that follow no colon (a colon starts minutes or
// seconds); bracketed names (<+0330>) are names, not offsets.
func zoneTextOK(v string) bool {
	if !zoneChars.MatchString(v) {
		return false
	}
	lower := strings.ToLower(v)
	if c := lower[0]; c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9' {
		if !plainHours.MatchString(lower) {
			return false
		}
		h, err := strconv.ParseFloat(lower, 64)
		return err == nil && hoursOK(h)
	}
	switch strings.TrimPrefix(lower, "+") {
	case "inf", "infinity", "nan":
		return false
	}
	spec := bracketed.ReplaceAllString(v, "")
	if strings.ContainsAny(spec, "<>") {
		return false
	}
	if i := strings.IndexByte(spec, ','); i >= 0 {
		spec = spec[:i] // transition rules: dates and times of day, no offsets
	}
	for _, loc := range digitRun.FindAllStringIndex(spec, -1) {
		if loc[0] > 0 && spec[loc[0]-1] == ':' {
			continue
		}
		if n, err := strconv.Atoi(spec[loc[0]:loc[1]]); err != nil || n >= 24 {
			return false
		}
	}
	return true
}

// intervalZoneOK reports an interval of SET TIME ZONE INTERVAL of less
// than 24 hours written as [+-]HH[:MM[:SS]]; other forms are refused.
func intervalZoneOK(v string) bool {
	m := intervalZone.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return false
	}
	h, err := strconv.Atoi(m[1])
	return err == nil && h < 24
}
