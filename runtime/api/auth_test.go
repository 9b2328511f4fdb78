package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/runtime/api"
)

// access is what a principal gets from a class of route.
type access int

const (
	unauthenticated access = iota // 401
	forbidden                     // 403
	granted                       // 2xx
)

// principals maps each token of the fixture to its access to dry-run
// routes and to auditor routes.
var principals = []struct {
	name            string
	dryRun, auditor access
}{
	{"no token", unauthenticated, unauthenticated},
	{"basic auth", unauthenticated, unauthenticated},
	{"malformed", unauthenticated, unauthenticated},
	{"foreign issuer", unauthenticated, unauthenticated},
	{"wrong audience", unauthenticated, unauthenticated},
	{"agent session", unauthenticated, unauthenticated},
	{"agent oidc", forbidden, forbidden},
	{"no group", forbidden, forbidden},
	{"no role", forbidden, forbidden},
	{"approver", granted, forbidden},
	{"auditor", granted, granted},
	{"admin", granted, granted},
}

func TestHumanRoutes(t *testing.T) {
	f := newHumanFixture(t, false)
	type route struct {
		name, method, path, body string
		auditor                  bool
		// want is a substring of a granted answer.
		want string
	}
	routes := []route{
		{"bundle", "GET", "/v1/bundle", "", false, `"revision"`},
		{"decide", "POST", "/v1/decide", `{"agent":"a","connection":"app","sql":"select id from orders"}`, false, `"result":"allow"`},
		{"sessions", "GET", "/v1/sessions?agent=a&since=1d&limit=10", "", true, f.pgID},
		{"session", "GET", "/v1/sessions/" + f.pgID, "", true, `select id from orders`},
		{"asciicast", "GET", "/v1/sessions/" + f.sshID + "/asciicast", "", true, `"width": 80`},
		{"usage", "GET", "/v1/audit/usage?since=90d", "", true, `"signature"`},
		{"usage role", "GET", "/v1/audit/usage?since=90d&role=reader", "", true, `"payload"`},
		{"verify", "GET", "/v1/audit/verify", "", true, `"ok":true`},
		{"export", "GET", "/v1/audit/export?since=1d", "", true, `"type":"header"`},
	}
	for _, rt := range routes {
		for _, pr := range principals {
			t.Run(rt.name+"/"+pr.name, func(t *testing.T) {
				want := pr.dryRun
				if rt.auditor {
					want = pr.auditor
				}
				status, hdr, body := f.do(t, rt.method, rt.path, f.tokens[pr.name], rt.body)
				switch want {
				case unauthenticated:
					checkProblem(t, status, hdr, body, http.StatusUnauthorized)
					if hdr.Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
				case forbidden:
					checkProblem(t, status, hdr, body, http.StatusForbidden)
					if !strings.Contains(string(body), "needs") {
						t.Errorf("403 does not say what is needed: %s", body)
					}
				case granted:
					if status != http.StatusOK {
						t.Fatalf("status = %d, want 200: %s", status, body)
					}
					if !strings.Contains(strings.ReplaceAll(string(body), `": `, `":`), strings.ReplaceAll(rt.want, `": `, `":`)) {
						t.Errorf("body lacks %q: %.400s", rt.want, body)
					}
				}
			})
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		t.Run("open"+path, func(t *testing.T) {
			if status, _, body := f.do(t, "GET", path, "", ""); status != http.StatusOK {
				t.Errorf("status = %d: %s", status, body)
			}
		})
	}
}

func checkProblem(t *testing.T, status int, hdr http.Header, body []byte, want int) {
	t.Helper()
	if status != want {
		t.Fatalf("status = %d, want %d: %s", status, want, body)
	}
	var p api.Problem
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Status != want || p.Detail == "" {
		t.Errorf("not a problem with a detail: %s", body)
	}
}

// TestReasons: refusals say why.
func TestReasons(t *testing.T) {
	f := newHumanFixture(t, false)
	for _, tc := range []struct{ who, path, want string }{
		{"no role", "/v1/sessions", "staff@example.com is in groups staff, which hold no API role; this endpoint needs API role auditor"},
		{"approver", "/v1/sessions", "which hold API roles approver; this endpoint needs API role auditor"},
		{"agent oidc", "/v1/bundle", "identity of agent a; agents hold no API role"},
		{"no group", "/v1/bundle", "nobody@example.com is in no group of the policy"},
		{"agent session", "/v1/sessions", "gateway session tokens are agents'"},
		{"no token", "/v1/sessions", "Authorization: Bearer"},
	} {
		t.Run(tc.who, func(t *testing.T) {
			_, _, body := f.do(t, "GET", tc.path, f.tokens[tc.who], "")
			if !strings.Contains(string(body), tc.want) {
				t.Errorf("body lacks %q: %s", tc.want, body)
			}
		})
	}
	_, _, body := f.do(t, "GET", "/v1/whoami", f.tokens["admin"], "")
	var h api.Human
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(api.Human{Issuer: f.is.URL(), Subject: "user:admin@example.com", Email: "admin@example.com", Groups: []string{"admins"}, Roles: []string{"admin"}}, h); d != "" {
		t.Error(d)
	}
}

// TestOpenDryRun: with open_dry_run the dry-run routes need no token, the
// auditor routes still do.
func TestOpenDryRun(t *testing.T) {
	f := newHumanFixture(t, true)
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/v1/bundle", "", 200},
		{"POST", "/v1/decide", `{"agent":"a","connection":"app","sql":"select 1 from orders"}`, 200},
		{"GET", "/v1/sessions", "", 401},
		{"GET", "/v1/audit/usage?since=1d", "", 401},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if status, _, body := f.do(t, tc.method, tc.path, "", tc.body); status != tc.status {
				t.Errorf("status = %d, want %d: %s", status, tc.status, body)
			}
		})
	}
}
