package compiler

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

// OverdueActions are the values of a review's on_overdue.
var OverdueActions = []string{"warn", "require_approval", "deny"}

const dateLayout = "2006-01-02"

var reviewSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "every", Required: true},
	{Name: "reviewers", Required: true},
	{Name: "last_reviewed", Required: true},
	{Name: "unused_after"},
	{Name: "grace"},
	{Name: "on_overdue"},
}}

func decodeReview(e *evaluator, r *role, b *hcl.Block) hcl.Diagnostics {
	rv := &model.Review{Source: source(b.DefRange), OnOverdue: "warn", Reviewers: []string{}}
	r.Review = rv
	r.ReviewRange = b.DefRange
	content, diags := b.Body.Content(reviewSchema)
	if content == nil {
		return diags
	}
	var ds hcl.Diagnostics
	rv.EverySeconds, ds = e.duration(content.Attributes["every"])
	diags = append(diags, ds...)
	reviewers, ds := e.list(content.Attributes["reviewers"], kindGroup)
	diags = append(diags, ds...)
	r.Reviewers = reviewers
	rv.Reviewers = sortedUniqueOr(values(reviewers))
	if a := content.Attributes["reviewers"]; a != nil && len(reviewers) == 0 && !ds.HasErrors() {
		rng := a.Expr.Range()
		diags = append(diags, errDiag(&rng, "No reviewers", "A review needs at least one reviewer group, such as reviewers = [group.security]."))
	}
	rv.UnusedAfterSeconds, ds = e.duration(content.Attributes["unused_after"])
	diags = append(diags, ds...)
	rv.GraceSeconds, ds = e.duration(content.Attributes["grace"])
	diags = append(diags, ds...)
	if a := content.Attributes["on_overdue"]; a != nil {
		s, ds := e.str(a)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			if contains(OverdueActions, s) {
				rv.OnOverdue = s
			} else {
				rng := a.Expr.Range()
				diags = append(diags, errDiag(&rng, "Invalid on_overdue",
					fmt.Sprintf("%q is not an overdue action; use warn, require_approval or deny.", s)))
			}
		}
	}
	if a := content.Attributes["last_reviewed"]; a != nil {
		s, ds := e.str(a)
		diags = append(diags, ds...)
		r.ReviewDate = a.Expr.Range()
		if !ds.HasErrors() {
			t, err := time.Parse(dateLayout, s)
			if err != nil {
				diags = append(diags, errDiag(&r.ReviewDate, "Invalid date",
					fmt.Sprintf("last_reviewed must be a date written YYYY-MM-DD (UTC), such as \"2026-10-01\"; %q is not.", s)))
			} else {
				rv.LastReviewed = s
				if rv.EverySeconds > 0 {
					rv.DueUnix = t.Unix() + rv.EverySeconds
				}
			}
		}
	}
	return diags
}

// checkReview reports a last_reviewed date in the future and an overdue
// review (a warning, or an error with failOnOverdue).
func checkReview(r *role, now time.Time, failOnOverdue bool) hcl.Diagnostics {
	rv := r.Review
	if rv == nil || rv.LastReviewed == "" {
		return nil
	}
	t, _ := time.Parse(dateLayout, rv.LastReviewed)
	today := now.UTC().Truncate(24 * time.Hour)
	if t.After(today) {
		return hcl.Diagnostics{errDiag(&r.ReviewDate, "Review date in the future",
			fmt.Sprintf("last_reviewed is %s, after today (%s UTC). Record the date the review actually happened.", rv.LastReviewed, today.Format(dateLayout)))}
	}
	if rv.DueUnix == 0 || now.Unix() <= rv.DueUnix+rv.GraceSeconds {
		return nil
	}
	due := time.Unix(rv.DueUnix, 0).UTC().Format(dateLayout)
	d := warnDiag(&r.ReviewDate, "Overdue review",
		fmt.Sprintf("Role %q was due for review on %s (last reviewed %s, every %s). Review it and update last_reviewed; until then on_overdue = %q applies.",
			r.Name, due, rv.LastReviewed, formatDuration(rv.EverySeconds), rv.OnOverdue))
	if failOnOverdue {
		d.Severity = hcl.DiagError
		d.Detail += " (--fail-on-overdue makes this an error.)"
	}
	return hcl.Diagnostics{d}
}

// formatDuration renders seconds with the largest exact unit.
func formatDuration(s int64) string {
	for _, u := range []struct {
		n    int64
		unit string
	}{{7 * 86400, "w"}, {86400, "d"}, {3600, "h"}, {60, "m"}} {
		if s%u.n == 0 {
			return fmt.Sprintf("%d%s", s/u.n, u.unit)
		}
	}
	return fmt.Sprintf("%ds", s)
}
