package activation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mandatehq/mandate/model"
)

// Engine decides inputs against one bundle. runtime/decision implements it.
type Engine interface {
	Decide(ctx context.Context, in *model.Input) (model.Decision, error)
	// Revision is the bundle revision the engine decides with; "" when no
	// bundle is behind it.
	Revision() string
}

// Prepared is a verified bundle whose engine is ready to decide.
type Prepared struct {
	Engine Engine
	// Policy is the compiled model the bundle carries (agents for identity
	// matching, roles for session limits).
	Policy   *model.Policy
	Revision string
	// CommitTime is the policy commit time from the manifest metadata; it
	// orders bundles for rollback protection.
	CommitTime time.Time
}

// LoadFunc verifies bundle bytes and prepares an engine for them. It
// returns a *RejectError (see Reject) to classify why a bundle is refused.
type LoadFunc func(ctx context.Context, data []byte) (*Prepared, error)

// Rejection reasons, the values of the reason label of
// mandate_bundle_rejected_total.
const (
	ReasonUnsigned   = "unsigned"
	ReasonTampered   = "tampered"
	ReasonWrongKey   = "wrong_key"
	ReasonWrongScope = "wrong_scope"
	ReasonTruncated  = "truncated"
	ReasonOversized  = "oversized"
	ReasonRollback   = "rollback"
	// ReasonInvalid covers a bundle that verifies but cannot be used
	// (unknown schema version, Rego that does not compile).
	ReasonInvalid = "invalid"
)

// RejectError is a bundle refused for Reason.
type RejectError struct {
	Reason string
	Err    error
}

func (e *RejectError) Error() string { return fmt.Sprintf("bundle rejected (%s): %v", e.Reason, e.Err) }
func (e *RejectError) Unwrap() error { return e.Err }

// Reject classifies err as a rejection for reason.
func Reject(reason string, err error) error { return &RejectError{Reason: reason, Err: err} }

// ReasonOf returns the rejection reason of err, or ReasonInvalid.
func ReasonOf(err error) string {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ReasonInvalid
}

// denyAll is the engine of a gateway that must fail closed.
type denyAll struct{ reason string }

var _ Engine = denyAll{}

func (d denyAll) Decide(context.Context, *model.Input) (model.Decision, error) {
	return model.Decision{Result: model.Deny, Reason: d.reason}, nil
}

func (denyAll) Revision() string { return "" }

// Fail-closed reasons.
const (
	reasonNoBundle = "no verified policy bundle is active on this gateway, so it denies everything until one is (see /readyz)"
)

func staleReason(since, maxAge time.Duration) string {
	return fmt.Sprintf("the policy bundle was last confirmed current %s ago, longer than max_age %s, so the gateway denies everything until its bundle source answers",
		since.Round(time.Second), maxAge)
}
