package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/review"
	"github.com/mandatehq/mandate/runtime/audit"
)

func TestAuditorErrors(t *testing.T) {
	f := newHumanFixture(t, false)
	tok := f.tokens["auditor"]
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/sessions/nope", 404, "No session"},
		{"/v1/sessions/" + f.pgID + "/asciicast", 404, "no terminal output"},
		{"/v1/sessions?limit=0", 400, "limit"},
		{"/v1/sessions?since=yesterday", 400, "since"},
		{"/v1/audit/usage", 400, "required"},
		{"/v1/audit/usage?since=1d&until=2d", 400, "before since"},
		{"/v1/audit/export?until=garbage", 400, "until"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status, hdr, body := f.do(t, "GET", tc.path, tok, "")
			checkProblem(t, status, hdr, body, tc.status)
			if !strings.Contains(string(body), tc.want) {
				t.Errorf("body lacks %q: %s", tc.want, body)
			}
		})
	}
}

// TestUsageRoundTrip: what `mandate review --usage URL` fetches verifies
// with the record key and equals the usage computed from the store.
func TestUsageRoundTrip(t *testing.T) {
	f := newHumanFixture(t, false)
	ctx := context.Background()
	since := time.Now().Add(-90 * 24 * time.Hour)
	data, err := review.FetchUsage(ctx, nil, f.srv.URL, strings.TrimPrefix(f.tokens["auditor"], "Bearer "), since)
	if err != nil {
		t.Fatal(err)
	}
	l, err := review.ParseUsage(data, f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Verified || l.Signed == nil || l.Signed.KeyID != f.key.ID {
		t.Fatalf("loaded = verified %v, signed %+v", l.Verified, l.Signed)
	}
	if _, err := audit.VerifyUsage(l.Signed, audit.NewKeySet(f.key.Public)); err != nil {
		t.Fatal(err)
	}
	want, err := audit.Usage(ctx, f.st, audit.UsageFilter{Since: since.Truncate(time.Second).UTC(), Until: l.Usage.Until})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, l.Usage); d != "" {
		t.Errorf("usage (-store +api):\n%s", d)
	}
	if len(l.Usage.Grants) != 1 || l.Usage.Grants[0].Count != 3 || l.Usage.Grants[0].Role != "reader" {
		t.Errorf("grants = %+v", l.Usage.Grants)
	}
	// Another role's usage is empty; a usage fetched by a non-auditor fails.
	if _, err := review.FetchUsage(ctx, nil, f.srv.URL, strings.TrimPrefix(f.tokens["approver"], "Bearer "), since); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Errorf("approver fetch: %v", err)
	}
	_, _, body := f.do(t, "GET", fmt.Sprintf("/v1/audit/usage?since=90d&role=%s", "nobody"), f.tokens["auditor"], "")
	l2, err := review.ParseUsage(body, f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	if len(l2.Usage.Grants) != 0 {
		t.Errorf("role nobody: %+v", l2.Usage.Grants)
	}
}

// TestExportVerifies: the exported evidence verifies offline.
func TestExportVerifies(t *testing.T) {
	f := newHumanFixture(t, false)
	status, hdr, body := f.do(t, "GET", "/v1/audit/export", f.tokens["auditor"], "")
	if status != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, %s: %.300s", status, hdr.Get("Content-Type"), body)
	}
	ev, err := audit.ReadEvidence(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(context.Background(), ev, audit.VerifyOptions{Keys: audit.NewKeySet(f.key.Public)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Chains) != 1 || rep.Chains[0].Events == 0 {
		t.Errorf("report = %+v", rep)
	}
}
