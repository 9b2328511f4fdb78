package activation

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mandatehq/mandate/compiler/bundle"
)

// TestClassify checks that reasons follow compiler/bundle's error classes,
// not the errors' text.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("verifying bundle: %w", bundle.ErrUnsigned), ReasonUnsigned},
		{fmt.Errorf("verifying bundle: %w", bundle.ErrWrongKey), ReasonWrongKey},
		{fmt.Errorf("reading bundle: %w", bundle.ErrOversized), ReasonOversized},
		{fmt.Errorf("reading bundle archive: %w", bundle.ErrTruncated), ReasonTruncated},
		{fmt.Errorf("verifying bundle: %w", bundle.ErrWrongScope), ReasonWrongScope},
		{fmt.Errorf("verifying bundle: %w", bundle.ErrTampered), ReasonTampered},
		{errors.New("verifying bundle: schema version 99, this build reads 1"), ReasonInvalid},
		{errors.New("verifying bundle: parsing mandate/x.rego: unsigned truncated signature digest mismatch"), ReasonInvalid},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%q) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
