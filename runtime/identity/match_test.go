package identity

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/model"
)

const gh = "https://token.actions.githubusercontent.com"

func testPolicy() *model.Policy {
	return &model.Policy{
		Agents: map[string]*model.Agent{
			"fulfilment-planner": {Name: "fulfilment-planner", Identities: []*model.Identity{
				{Issuer: gh, Subject: "repo:acme/fulfilment:ref:refs/heads/main"},
			}},
			"deployer": {Name: "deployer", Identities: []*model.Identity{
				{Issuer: gh, Claims: map[string]string{"repository": "acme/deploy", "environment": "prod"}},
			}},
			"builder": {Name: "builder", Identities: []*model.Identity{
				{Issuer: gh, Claims: map[string]string{"repository": "acme/deploy", "job_workflow_ref": "acme/deploy/.github/workflows/build.yml@refs/heads/main"}},
			}},
			"local-bot": {Name: "local-bot", Identities: []*model.Identity{
				{Issuer: "https://mandate.local", Subject: "bot", Claims: map[string]string{"groups": "bots", "run": "42", "ci": "true"}},
				{Issuer: "https://other.local", Subject: "bot"},
			}},
		},
		Groups: map[string]*model.Group{
			"security": {Name: "security", Members: []string{"alice@example.com", "user-123"}},
			"oncall":   {Name: "oncall", Claims: map[string]string{"groups": "oncall"}},
			"sre":      {Name: "sre", Claims: map[string]string{"groups": "sre", "org": "acme"}},
		},
	}
}

func TestMatchAgent(t *testing.T) {
	m := NewMatcher(testPolicy())
	tests := []struct {
		name    string
		c       *Claims
		want    string
		wantErr error
	}{
		{"subject", &Claims{Issuer: gh, Subject: "repo:acme/fulfilment:ref:refs/heads/main"}, "fulfilment-planner", nil},
		{"subject of another branch", &Claims{Issuer: gh, Subject: "repo:acme/fulfilment:ref:refs/heads/dev"}, "", ErrNoAgent},
		{"claims", &Claims{Issuer: gh, Subject: "repo:acme/deploy:environment:prod",
			Raw: map[string]any{"repository": "acme/deploy", "environment": "prod"}}, "deployer", nil},
		{"claims, one missing", &Claims{Issuer: gh, Subject: "s", Raw: map[string]any{"repository": "acme/deploy"}}, "", ErrNoAgent},
		{"ambiguous", &Claims{Issuer: gh, Subject: "s", Raw: map[string]any{
			"repository": "acme/deploy", "environment": "prod",
			"job_workflow_ref": "acme/deploy/.github/workflows/build.yml@refs/heads/main"}}, "", ErrAmbiguousAgent},
		{"list claim contains, number and bool as text", &Claims{Issuer: "https://mandate.local", Subject: "bot",
			Raw: map[string]any{"groups": []any{"x", "bots"}, "run": 42.0, "ci": true}}, "local-bot", nil},
		{"list claim lacks", &Claims{Issuer: "https://mandate.local", Subject: "bot",
			Raw: map[string]any{"groups": []any{"x"}, "run": 42.0, "ci": true}}, "", ErrNoAgent},
		{"nested list is not a match", &Claims{Issuer: "https://mandate.local", Subject: "bot",
			Raw: map[string]any{"groups": []any{[]any{"bots"}}, "run": 42.0, "ci": true}}, "", ErrNoAgent},
		{"second identity", &Claims{Issuer: "https://other.local", Subject: "bot"}, "local-bot", nil},
		{"unknown issuer", &Claims{Issuer: "https://evil", Subject: "repo:acme/fulfilment:ref:refs/heads/main"}, "", ErrNoAgent},
		{"session token", &Claims{Issuer: gatewayURL, Subject: "deployer", Session: &Session{
			Agent: "deployer", OriginalIssuer: gh, OriginalSubject: "anything"}}, "deployer", nil},
		{"session of a removed agent", &Claims{Issuer: gatewayURL, Session: &Session{
			Agent: "gone", OriginalIssuer: gh}}, "", ErrNoAgent},
		{"session whose identity changed", &Claims{Issuer: gatewayURL, Session: &Session{
			Agent: "fulfilment-planner", OriginalIssuer: gh, OriginalSubject: "repo:acme/other"}}, "", ErrNoAgent},
		{"nil", nil, "", ErrNoAgent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := m.Match(tc.c)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Name != tc.want {
				t.Errorf("agent = %q, want %q", a.Name, tc.want)
			}
		})
	}
}

func TestMatchAgentAmbiguityNamesAgents(t *testing.T) {
	c := &Claims{Issuer: gh, Subject: "s", Raw: map[string]any{
		"repository": "acme/deploy", "environment": "prod",
		"job_workflow_ref": "acme/deploy/.github/workflows/build.yml@refs/heads/main"}}
	_, err := MatchAgent(testPolicy(), c)
	want := "the token matches several agents: builder, deployer; make their identities disjoint (subject or claims)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestGroups(t *testing.T) {
	p := testPolicy()
	tests := []struct {
		name string
		c    *Claims
		want []string
	}{
		{"email", &Claims{Subject: "x", Email: "Alice@Example.com"}, []string{"security"}},
		{"subject", &Claims{Subject: "user-123"}, []string{"security"}},
		{"claims", &Claims{Subject: "bob", Raw: map[string]any{"groups": []any{"oncall", "sre"}, "org": "acme"}}, []string{"oncall", "sre"}},
		{"partial claims", &Claims{Subject: "bob", Raw: map[string]any{"groups": "sre"}}, nil},
		{"session tokens are not humans", &Claims{Subject: "user-123", Session: &Session{Agent: "a"}}, nil},
		{"nobody", &Claims{Subject: "eve"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Groups(p, tc.c)); diff != "" {
				t.Error(diff)
			}
		})
	}
}
