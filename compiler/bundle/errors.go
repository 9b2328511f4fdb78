package bundle

import (
	"errors"
	"fmt"
)

// Classes of bundle rejection. Load (and Inspect, for what it checks)
// wraps every error of one of these classes so that errors.Is reports it;
// the error's text is unchanged by the class. An error of none of them (a
// bundle that verifies but cannot be used, such as an unknown schema version
// or Rego that does not parse, or a bad verification key) matches none.
var (
	// ErrUnsigned: the bundle has no .signatures.json.
	ErrUnsigned = errors.New("bundle is unsigned")
	// ErrWrongKey: the signature names a key id that is not among the
	// verification keys, or names no key id.
	ErrWrongKey = errors.New("bundle is not signed by a configured key")
	// ErrOversized: the compressed bundle or its unpacked files are larger
	// than the limit.
	ErrOversized = errors.New("bundle is larger than the limit")
	// ErrTruncated: the archive is cut short or is not a well-formed tar.gz
	// (gzip or tar errors, an unexpected EOF, a truncated entry, an entry that
	// is not a regular file, an entry that appears twice).
	ErrTruncated = errors.New("bundle archive is truncated or malformed")
	// ErrWrongScope: the bundle reaches outside the mandate root: roots other
	// than exactly ["mandate"], a file outside the expected layout, a Rego
	// package outside the root.
	ErrWrongScope = errors.New("bundle is outside the mandate scope")
	// ErrTampered: the signature does not cover the files as they are: a
	// digest mismatch, a file the signature does not name, a signed file or
	// required file that is missing, a malformed signature or one that does
	// not verify with its key.
	ErrTampered = errors.New("bundle does not match its signature")
)

// classed is an error of a rejection class: its text is err's alone, and
// errors.Is matches both the class and whatever err wraps.
type classed struct {
	class error
	err   error
}

func (e *classed) Error() string   { return e.err.Error() }
func (e *classed) Unwrap() []error { return []error{e.class, e.err} }

// rejectf formats an error as fmt.Errorf does (%w included) and marks it as
// of class.
func rejectf(class error, format string, args ...any) error {
	return &classed{class: class, err: fmt.Errorf(format, args...)}
}
