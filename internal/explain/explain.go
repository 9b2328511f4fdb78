package explain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/decision"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// Request is one question.
type Request struct {
	Agent      string
	Connection string
	// Exactly one of SQL, Command, Shell and Session.
	SQL     string
	Command string
	Shell   bool
	Session bool
	// Approvals are treated as active for the question.
	Approvals []model.ActiveApproval
	Now       time.Time
}

// Result is the answer: one Item per SQL statement, or one for a command,
// shell or session.
type Result struct {
	Revision   string `json:"revision"`
	Agent      string `json:"agent"`
	Connection string `json:"connection"`
	Kind       string `json:"kind"`
	// Result is allow only when every item is allowed; otherwise the first
	// item's deny or needs_approval.
	Result string `json:"result"`
	Items  []Item `json:"items"`
}

// Item is the decision of one statement or command.
type Item struct {
	// Text is the statement's text, the command, or empty.
	Text      string           `json:"text,omitempty"`
	Statement *model.Statement `json:"statement,omitempty"`
	Decision  model.Decision   `json:"decision"`
}

// Explain decides req with e.
func Explain(ctx context.Context, e *decision.Engine, req Request) (*Result, error) {
	n := 0
	for _, set := range []bool{req.SQL != "", req.Command != "", req.Shell, req.Session} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("explaining: give exactly one of SQL, a command, a shell or a session")
	}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	base := model.Input{Agent: req.Agent, Connection: req.Connection, NowUnix: req.Now.Unix(), Approvals: req.Approvals}
	res := &Result{Revision: e.Revision(), Agent: req.Agent, Connection: req.Connection}
	var inputs []model.Input
	var texts []string
	switch {
	case req.SQL != "":
		res.Kind = "postgres"
		stmts, err := pgsql.Analyze(req.SQL, pgsql.Options{})
		if err != nil {
			return nil, fmt.Errorf("analyzing SQL: %w", err)
		}
		if len(stmts) == 0 {
			return nil, errors.New("analyzing SQL: no statement")
		}
		for _, s := range stmts {
			in := base
			in.Kind = "postgres"
			st := s.Statement
			in.Statement = &st
			inputs = append(inputs, in)
			texts = append(texts, s.Text)
		}
	case req.Command != "" || req.Shell:
		res.Kind = "ssh"
		in := base
		in.Kind, in.Command, in.Shell = "ssh", req.Command, req.Shell
		inputs, texts = append(inputs, in), append(texts, req.Command)
	default:
		res.Kind = "session"
		in := base
		in.Kind = "session"
		inputs, texts = append(inputs, in), append(texts, "")
	}
	for i := range inputs {
		d, err := e.Decide(ctx, &inputs[i])
		if err != nil {
			return nil, err
		}
		res.Items = append(res.Items, Item{Text: texts[i], Statement: inputs[i].Statement, Decision: d})
	}
	res.Result = model.Allow
	for _, it := range res.Items {
		if it.Decision.Result != model.Allow {
			res.Result = it.Decision.Result
			break
		}
	}
	return res, nil
}
