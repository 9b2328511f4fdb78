package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mandatehq/mandate/internal/explain"
	"github.com/mandatehq/mandate/runtime/api"
)

// TokenEnv names the environment variable holding a human's API token.
const TokenEnv = "MANDATE_TOKEN"

// gatewayFlags are the flags of a command that talks to a gateway's API.
type gatewayFlags struct {
	url, ca, token string
}

func (g *gatewayFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&g.url, "gateway", "", "ask the gateway at this API URL (https://host:8080) instead of a local policy")
	f.StringVar(&g.ca, "ca", "", "PEM certificate to trust for --gateway (such as its state/tls/gateway.crt)")
	f.StringVar(&g.token, "token", "", "human OIDC token for --gateway (default: env "+TokenEnv+")")
}

func (g *gatewayFlags) client() (*api.Client, error) {
	tok := g.token
	if tok == "" {
		tok = os.Getenv(TokenEnv)
	}
	c, err := api.NewClient(g.url, g.ca, tok)
	if err != nil {
		return nil, usageError{fmt.Errorf("--ca: %w", err)}
	}
	return c, nil
}

// explain asks the gateway's POST /v1/decide. withNow sends req.Now (the
// --now flag); otherwise the gateway's clock decides.
func (g *gatewayFlags) explain(ctx context.Context, req explain.Request, withNow bool) (*explain.Result, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	dr := api.DecideRequest{Agent: req.Agent, Connection: req.Connection, SQL: req.SQL, Command: req.Command,
		Shell: req.Shell, Approvals: req.Approvals}
	if req.Session {
		dr.Kind = "session"
	}
	if withNow {
		dr.Now = &req.Now
	}
	resp, err := c.Decide(ctx, dr)
	if err != nil {
		return nil, fmt.Errorf("asking %s: %w", g.url, err)
	}
	return resultFromGateway(req, dr, resp), nil
}

// resultFromGateway shapes a /v1/decide answer like a local explanation.
func resultFromGateway(req explain.Request, dr api.DecideRequest, resp *api.DecideResponse) *explain.Result {
	kind := dr.Kind
	switch {
	case kind != "":
	case req.SQL != "":
		kind = "postgres"
	default:
		kind = "ssh"
	}
	res := &explain.Result{Revision: resp.Decision.Revision, Agent: req.Agent, Connection: req.Connection,
		Kind: kind, Result: resp.Decision.Result}
	if len(resp.Statements) > 0 {
		for _, st := range resp.Statements {
			st := st
			res.Items = append(res.Items, explain.Item{Text: st.SQL, Statement: &st.Statement, Decision: st.Decision})
		}
		return res
	}
	res.Items = []explain.Item{{Text: req.Command, Decision: resp.Decision}}
	return res
}
