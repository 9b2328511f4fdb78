package review

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeGitHub serves the pull-request endpoints and checks every request
// against GitHub's documented REST schema: headers, methods, paths, required
// fields and their JSON types. Unknown fields are rejected (stricter than
// GitHub) so the client cannot drift.
type fakeGitHub struct {
	t     *testing.T
	mu    sync.Mutex
	prs   []map[string]any
	calls []string
	// reviewers and labels per pull request number.
	reviewers map[int][]string
	teams     map[int][]string
	labels    map[int][]string
}

type field struct {
	kind     string // string, bool, int, []string
	required bool
}

var (
	rePulls     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/pulls$`)
	rePull      = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/pulls/(\d+)$`)
	reReviewers = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/pulls/(\d+)/requested_reviewers$`)
	reLabels    = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/(\d+)/labels$`)
)

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	}
	if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
		fail(415, "Accept must be application/vnd.github+json, got "+got)
		return
	}
	if got := r.Header.Get("X-GitHub-Api-Version"); got != "2022-11-28" {
		fail(400, "unsupported X-GitHub-Api-Version "+got)
		return
	}
	if r.Header.Get("Authorization") != "Bearer test-token" {
		fail(401, "Bad credentials")
		return
	}
	if r.Header.Get("User-Agent") == "" {
		fail(403, "User-Agent required")
		return
	}
	body := map[string]any{}
	if r.Method != http.MethodGet {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			fail(415, "Content-Type must be application/json")
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			fail(400, "Problems parsing JSON")
			return
		}
	}
	check := func(schema map[string]field) bool {
		for k, v := range body {
			fs, ok := schema[k]
			if !ok {
				fail(422, "unknown field "+k)
				return false
			}
			if !typeOK(fs.kind, v) {
				fail(422, fmt.Sprintf("field %s is not a %s", k, fs.kind))
				return false
			}
		}
		for k, fs := range schema {
			if _, ok := body[k]; fs.required && !ok {
				fail(422, "missing field "+k)
				return false
			}
		}
		return true
	}
	switch m := strings.TrimPrefix(r.URL.Path, "/api/v3"); {
	case r.Method == http.MethodGet && rePulls.MatchString(m):
		q := r.URL.Query()
		if s := q.Get("state"); s != "" && s != "open" && s != "closed" && s != "all" {
			fail(422, "state must be open, closed or all")
			return
		}
		owner, branch, ok := strings.Cut(q.Get("head"), ":")
		if q.Get("head") != "" && (!ok || owner == "" || branch == "") {
			fail(422, "head must be user:ref-name")
			return
		}
		for _, k := range []string{"per_page", "page"} {
			if v := q.Get(k); v != "" {
				if n, err := strconv.Atoi(v); err != nil || n < 1 || (k == "per_page" && n > 100) {
					fail(422, k+" must be an integer (per_page at most 100)")
					return
				}
			}
		}
		out := []map[string]any{}
		for _, pr := range f.prs {
			if pr["state"] == q.Get("state") && (branch == "" || pr["head"].(map[string]any)["ref"] == branch) {
				out = append(out, pr)
			}
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPost && rePulls.MatchString(m):
		if !check(map[string]field{"title": {"string", true}, "head": {"string", true}, "base": {"string", true},
			"body": {"string", false}, "draft": {"bool", false}, "maintainer_can_modify": {"bool", false},
			"head_repo": {"string", false}, "issue": {"int", false}}) {
			return
		}
		for _, pr := range f.prs {
			if pr["state"] == "open" && pr["head"].(map[string]any)["ref"] == body["head"] {
				fail(422, "Validation Failed: A pull request already exists for "+body["head"].(string))
				return
			}
		}
		n := len(f.prs) + 1
		pr := map[string]any{"number": n, "state": "open", "title": body["title"], "body": body["body"],
			"html_url": fmt.Sprintf("https://github.example/acme/policy/pull/%d", n),
			"head":     map[string]any{"ref": body["head"]}, "base": map[string]any{"ref": body["base"]}}
		f.prs = append(f.prs, pr)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(pr)
	case r.Method == http.MethodPatch && rePull.MatchString(m):
		if !check(map[string]field{"title": {"string", false}, "body": {"string", false}, "state": {"string", false},
			"base": {"string", false}, "maintainer_can_modify": {"bool", false}}) {
			return
		}
		n, _ := strconv.Atoi(rePull.FindStringSubmatch(m)[3])
		if n < 1 || n > len(f.prs) {
			fail(404, "Not Found")
			return
		}
		pr := f.prs[n-1]
		for _, k := range []string{"title", "body", "state"} {
			if v, ok := body[k]; ok {
				pr[k] = v
			}
		}
		json.NewEncoder(w).Encode(pr)
	case r.Method == http.MethodPost && reReviewers.MatchString(m):
		if !check(map[string]field{"reviewers": {"[]string", false}, "team_reviewers": {"[]string", false}}) {
			return
		}
		if body["reviewers"] == nil && body["team_reviewers"] == nil {
			fail(422, "reviewers or team_reviewers is required")
			return
		}
		n, _ := strconv.Atoi(reReviewers.FindStringSubmatch(m)[3])
		f.reviewers[n] = appendStrings(f.reviewers[n], body["reviewers"])
		f.teams[n] = appendStrings(f.teams[n], body["team_reviewers"])
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(f.prs[n-1])
	case r.Method == http.MethodPost && reLabels.MatchString(m):
		if !check(map[string]field{"labels": {"[]string", true}}) {
			return
		}
		n, _ := strconv.Atoi(reLabels.FindStringSubmatch(m)[3])
		f.labels[n] = appendStrings(f.labels[n], body["labels"])
		var out []map[string]any
		for _, l := range f.labels[n] {
			out = append(out, map[string]any{"name": l})
		}
		json.NewEncoder(w).Encode(out)
	default:
		fail(404, "Not Found")
	}
}

func typeOK(kind string, v any) bool {
	switch kind {
	case "string":
		_, ok := v.(string)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "int":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "[]string":
		l, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range l {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

func appendStrings(dst []string, v any) []string {
	l, _ := v.([]any)
	for _, e := range l {
		s := e.(string)
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

func newFakeGitHub(t *testing.T) (*fakeGitHub, *GitHub) {
	f := &fakeGitHub{t: t, reviewers: map[int][]string{}, teams: map[int][]string{}, labels: map[int][]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, &GitHub{BaseURL: srv.URL + "/api/v3", Token: "test-token", Client: srv.Client()}
}

func TestEnsurePR(t *testing.T) {
	f, gh := newFakeGitHub(t)
	req := PRRequest{Owner: "acme", Repo: "policy", Head: "recert/order_reader-2026-11-26", Base: "main",
		Title: "Recertify role order_reader", Body: "report v1",
		Reviewers: []string{"alice", "@bob", "acme/security"}, Labels: []string{"recertification"}}
	pr, created, err := gh.EnsurePR(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !created || pr.Number != 1 || pr.HTMLURL == "" {
		t.Fatalf("first run: created=%v pr=%+v", created, pr)
	}
	req.Body = "report v2"
	pr2, created, err := gh.EnsurePR(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if created || pr2.Number != 1 {
		t.Fatalf("re-run opened a second pull request: created=%v number=%d", created, pr2.Number)
	}
	if len(f.prs) != 1 || f.prs[0]["body"] != "report v2" {
		t.Errorf("pull requests = %v", f.prs)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, f.reviewers[1]); diff != "" {
		t.Errorf("reviewers: %s", diff)
	}
	if diff := cmp.Diff([]string{"security"}, f.teams[1]); diff != "" {
		t.Errorf("team reviewers: %s", diff)
	}
	if diff := cmp.Diff([]string{"recertification"}, f.labels[1]); diff != "" {
		t.Errorf("labels: %s", diff)
	}
	want := []string{
		"GET /api/v3/repos/acme/policy/pulls",
		"POST /api/v3/repos/acme/policy/pulls",
		"POST /api/v3/repos/acme/policy/pulls/1/requested_reviewers",
		"POST /api/v3/repos/acme/policy/issues/1/labels",
		"GET /api/v3/repos/acme/policy/pulls",
		"PATCH /api/v3/repos/acme/policy/pulls/1",
		"POST /api/v3/repos/acme/policy/pulls/1/requested_reviewers",
		"POST /api/v3/repos/acme/policy/issues/1/labels",
	}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestEnsurePRErrors(t *testing.T) {
	_, gh := newFakeGitHub(t)
	gh.Token = "wrong"
	_, _, err := gh.EnsurePR(context.Background(), PRRequest{Owner: "acme", Repo: "policy", Head: "h", Base: "main", Title: "t"})
	var apiErr *APIError
	if !asAPIError(err, &apiErr) || apiErr.Status != 401 || apiErr.Message != "Bad credentials" {
		t.Fatalf("err = %v, want a 401 APIError", err)
	}
	if _, _, err := gh.EnsurePR(context.Background(), PRRequest{Owner: "acme"}); err == nil {
		t.Error("no error for a request without repo, head, base and title")
	}
}

func asAPIError(err error, target **APIError) bool {
	e, ok := err.(*APIError)
	if ok {
		*target = e
	}
	return ok
}

func TestFindOpenPRWithPrefix(t *testing.T) {
	_, gh := newFakeGitHub(t)
	ctx := context.Background()
	if pr, err := gh.FindOpenPRWithPrefix(ctx, "acme", "policy", "recert/r-"); err != nil || pr != nil {
		t.Fatalf("empty repository: %v, %v", pr, err)
	}
	if _, _, err := gh.EnsurePR(ctx, PRRequest{Owner: "acme", Repo: "policy", Head: "recert/r-2026-11-19", Base: "main", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.FindOpenPRWithPrefix(ctx, "acme", "policy", "recert/r-")
	if err != nil || pr == nil || pr.Head.Ref != "recert/r-2026-11-19" {
		t.Fatalf("got %+v, %v", pr, err)
	}
	if pr, _ := gh.FindOpenPRWithPrefix(ctx, "acme", "policy", "recert/other-"); pr != nil {
		t.Errorf("matched another role: %+v", pr)
	}
}

func TestParseGitHubRemote(t *testing.T) {
	tests := []struct{ in, owner, repo string }{
		{"https://github.com/acme/policy.git", "acme", "policy"},
		{"https://x-access-token:t@github.example.com/acme/policy", "acme", "policy"},
		{"git@github.com:acme/policy.git", "acme", "policy"},
		{"ssh://git@github.com/acme/policy.git", "acme", "policy"},
		{"/tmp/policy.git", "tmp", "policy"},
		{"nothing", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o, r, err := ParseGitHubRemote(tt.in)
			if tt.owner == "" {
				if err == nil {
					t.Errorf("no error, got %s/%s", o, r)
				}
				return
			}
			if err != nil || o != tt.owner || r != tt.repo {
				t.Errorf("got %s/%s, %v", o, r, err)
			}
		})
	}
}
