package review

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultGitHubAPI is GitHub.com's REST API; GitHub Enterprise Server uses
// https://HOST/api/v3.
const DefaultGitHubAPI = "https://api.github.com"

// GitHubAPIVersion is the REST API version every request asks for.
const GitHubAPIVersion = "2022-11-28"

// GitHubTimeout bounds one API request.
var GitHubTimeout = 30 * time.Second

// GitHub is a small client for the pull-request endpoints of the GitHub REST
// API.
type GitHub struct {
	// BaseURL is the API root. Default DefaultGitHubAPI.
	BaseURL string
	// Token is sent as "Authorization: Bearer TOKEN".
	Token string
	// Client is the HTTP client. Default http.DefaultClient.
	Client *http.Client
}

// PullRequest is the part of GitHub's pull request object the bot uses.
type PullRequest struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	Head    struct {
		Ref string `json:"ref"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

// PRRequest is what EnsurePR opens or updates.
type PRRequest struct {
	Owner, Repo string
	// Head is the branch with the proposal; Base the branch to merge into.
	Head, Base  string
	Title, Body string
	// Reviewers are GitHub handles; "org/team" names a team.
	Reviewers []string
	Labels    []string
}

// APIError is a non-2xx answer from GitHub.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("github %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// EnsurePR opens the pull request, or updates the open one for the same
// head branch, then requests reviews and adds labels. It returns the pull
// request and whether it was created.
func (g *GitHub) EnsurePR(ctx context.Context, r PRRequest) (*PullRequest, bool, error) {
	if r.Owner == "" || r.Repo == "" || r.Head == "" || r.Base == "" || r.Title == "" {
		return nil, false, errors.New("opening pull request: owner, repo, head, base and title are required")
	}
	repoPath := "/repos/" + url.PathEscape(r.Owner) + "/" + url.PathEscape(r.Repo)
	pr, err := g.FindOpenPR(ctx, r.Owner, r.Repo, r.Head)
	if err != nil {
		return nil, false, err
	}
	created := pr == nil
	if created {
		pr = &PullRequest{}
		err = g.do(ctx, http.MethodPost, repoPath+"/pulls", map[string]any{
			"title": r.Title, "head": r.Head, "base": r.Base, "body": r.Body, "maintainer_can_modify": true,
		}, pr)
	} else {
		err = g.do(ctx, http.MethodPatch, fmt.Sprintf("%s/pulls/%d", repoPath, pr.Number), map[string]any{
			"title": r.Title, "body": r.Body, "base": r.Base,
		}, pr)
	}
	if err != nil {
		return nil, false, err
	}
	var users, teams []string
	for _, h := range r.Reviewers {
		h = strings.TrimPrefix(h, "@")
		if _, team, ok := strings.Cut(h, "/"); ok {
			teams = append(teams, team)
		} else if h != "" {
			users = append(users, h)
		}
	}
	if len(users)+len(teams) > 0 {
		body := map[string]any{}
		if len(users) > 0 {
			body["reviewers"] = users
		}
		if len(teams) > 0 {
			body["team_reviewers"] = teams
		}
		if err := g.do(ctx, http.MethodPost, fmt.Sprintf("%s/pulls/%d/requested_reviewers", repoPath, pr.Number), body, nil); err != nil {
			return pr, created, err
		}
	}
	if len(r.Labels) > 0 {
		if err := g.do(ctx, http.MethodPost, fmt.Sprintf("%s/issues/%d/labels", repoPath, pr.Number), map[string]any{"labels": r.Labels}, nil); err != nil {
			return pr, created, err
		}
	}
	return pr, created, nil
}

// FindOpenPR returns the open pull request whose head is owner:branch, or
// nil.
func (g *GitHub) FindOpenPR(ctx context.Context, owner, repo, branch string) (*PullRequest, error) {
	q := url.Values{"head": {owner + ":" + branch}, "state": {"open"}}
	var prs []PullRequest
	p := "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/pulls?" + q.Encode()
	if err := g.do(ctx, http.MethodGet, p, nil, &prs); err != nil {
		return nil, err
	}
	for i := range prs {
		if prs[i].Head.Ref == branch || prs[i].Head.Ref == "" {
			return &prs[i], nil
		}
	}
	return nil, nil
}

// FindOpenPRWithPrefix returns the first open pull request whose head
// branch (in the repository itself) starts with prefix, or nil. A review
// re-run on a later day uses it to update the role's open pull request
// rather than open a second one.
func (g *GitHub) FindOpenPRWithPrefix(ctx context.Context, owner, repo, prefix string) (*PullRequest, error) {
	const perPage, maxPages = 100, 10
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"state": {"open"}, "per_page": {fmt.Sprint(perPage)}, "page": {fmt.Sprint(page)}}
		var prs []PullRequest
		p := "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/pulls?" + q.Encode()
		if err := g.do(ctx, http.MethodGet, p, nil, &prs); err != nil {
			return nil, err
		}
		for i := range prs {
			if strings.HasPrefix(prs[i].Head.Ref, prefix) {
				return &prs[i], nil
			}
		}
		if len(prs) < perPage {
			break
		}
	}
	return nil, nil
}

func (g *GitHub) do(ctx context.Context, method, path string, in, out any) error {
	base := g.BaseURL
	if base == "" {
		base = DefaultGitHubAPI
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding github request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, GitHubTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, body)
	if err != nil {
		return fmt.Errorf("building github request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", GitHubAPIVersion)
	req.Header.Set("User-Agent", "mandate-review")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("calling github %s %s: %w", method, stripQuery(path), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading github %s %s: %w", method, stripQuery(path), err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
			Errors  []struct {
				Message string `json:"message"`
				Field   string `json:"field"`
				Code    string `json:"code"`
			} `json:"errors"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			msg = e.Message
			for _, x := range e.Errors {
				msg += "; " + strings.TrimSpace(x.Field+" "+x.Code+" "+x.Message)
			}
		}
		return &APIError{Method: method, Path: stripQuery(path), Status: resp.StatusCode, Message: msg}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding github %s %s: %w", method, stripQuery(path), err)
		}
	}
	return nil
}

func stripQuery(p string) string {
	p, _, _ = strings.Cut(p, "?")
	return p
}

// ParseGitHubRemote reads owner and repository from a GitHub remote URL:
// https://HOST/OWNER/REPO(.git), git@HOST:OWNER/REPO(.git) or
// ssh://git@HOST/OWNER/REPO(.git).
func ParseGitHubRemote(remote string) (owner, repo string, err error) {
	s := remote
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if _, rest, ok := strings.Cut(s, "/"); ok {
			s = rest
		} else {
			s = ""
		}
	} else if _, rest, ok := strings.Cut(s, ":"); ok {
		s = rest
	}
	s = strings.TrimSuffix(strings.Trim(s, "/"), ".git")
	parts := strings.Split(s, "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return "", "", fmt.Errorf("reading owner/repo from remote %s: give --repo OWNER/NAME", redactURL(remote))
	}
	return parts[len(parts)-2], parts[len(parts)-1], nil
}
