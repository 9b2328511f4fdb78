package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// DecideRequest is the body of POST /v1/decide: what the policy would say
// if agent ran sql (kind postgres, possibly several statements) or command
// (kind ssh) on connection, or opened a session (kind session, neither).
type DecideRequest struct {
	Agent      string `json:"agent"`
	Connection string `json:"connection,omitempty"`
	// Kind is postgres, ssh or session; inferred from SQL/Command/Shell
	// when empty.
	Kind    string `json:"kind,omitempty"`
	SQL     string `json:"sql,omitempty"`
	Command string `json:"command,omitempty"`
	Shell   bool   `json:"shell,omitempty"`
	// Now decides as of another time (review due dates); default the
	// gateway's clock.
	Now *time.Time `json:"now,omitempty"`
	// Approvals are approved requests to assume active.
	Approvals []model.ActiveApproval `json:"approvals,omitempty"`
	// SearchPath resolves unqualified tables; default ["public"].
	SearchPath []string `json:"search_path,omitempty"`
}

// DecideResponse is the answer: the overall Decision (the first deny, else
// the first needs_approval, else the last allow) and, for SQL, one entry per
// statement.
type DecideResponse struct {
	Decision   model.Decision      `json:"decision"`
	Statements []StatementDecision `json:"statements,omitempty"`
}

// StatementDecision is the decision on one SQL statement.
type StatementDecision struct {
	SQL       string          `json:"sql"`
	Statement model.Statement `json:"statement"`
	Decision  model.Decision  `json:"decision"`
}

func (r *DecideRequest) kind() (string, *Problem) {
	k := r.Kind
	if k == "" {
		switch {
		case r.SQL != "":
			k = "postgres"
		case r.Command != "" || r.Shell:
			k = "ssh"
		default:
			k = "session"
		}
	}
	bad := func(detail string) (string, *Problem) {
		return "", problem(http.StatusBadRequest, "invalid-request", "Invalid decide request", detail)
	}
	switch {
	case r.Agent == "":
		return bad(`"agent" is required: the name of an agent block of the policy.`)
	case r.SQL != "" && (r.Command != "" || r.Shell):
		return bad(`Set "sql" (a postgres statement) or "command"/"shell" (ssh), not both.`)
	case k != "postgres" && k != "ssh" && k != "session":
		return bad(fmt.Sprintf(`"kind" is postgres, ssh or session; got %q.`, k))
	case k == "postgres" && r.SQL == "":
		return bad(`Kind postgres needs "sql".`)
	case k == "ssh" && r.Command == "" && !r.Shell:
		return bad(`Kind ssh needs "command" or "shell": true.`)
	case k != "session" && r.Connection == "":
		return bad(`"connection" is required: the name of a connection block of the policy.`)
	}
	return k, nil
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	var req DecideRequest
	if p := decodeBody(w, r, maxDecideBody, &req); p != nil {
		writeProblem(w, r, p)
		return
	}
	kind, p := req.kind()
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	now := s.deps.Now()
	if req.Now != nil {
		now = *req.Now
	}
	base := model.Input{Kind: kind, Agent: req.Agent, Connection: req.Connection, NowUnix: now.Unix(), Approvals: req.Approvals}
	var resp DecideResponse
	switch kind {
	case "postgres":
		stmts, err := pgsql.Analyze(req.SQL, pgsql.Options{SearchPath: req.SearchPath})
		if err != nil {
			writeProblem(w, r, problem(http.StatusUnprocessableEntity, "unparseable-sql", "SQL could not be parsed",
				fmt.Sprintf("The gateway would deny this statement: %s.", err)))
			return
		}
		if len(stmts) == 0 {
			writeProblem(w, r, problem(http.StatusBadRequest, "invalid-request", "Invalid decide request", `"sql" holds no statement.`))
			return
		}
		for i, a := range stmts {
			in := base
			in.Statement = &a.Statement
			d := s.decideOne(r, &in)
			resp.Statements = append(resp.Statements, StatementDecision{SQL: a.Text, Statement: a.Statement, Decision: d})
			if i == 0 || decisionRank(d) > decisionRank(resp.Decision) || (decisionRank(d) == 0 && decisionRank(resp.Decision) == 0) {
				resp.Decision = d
			}
		}
	case "ssh":
		in := base
		in.Command, in.Shell = req.Command, req.Shell
		resp.Decision = s.decideOne(r, &in)
	default:
		resp.Decision = s.decideOne(r, &base)
	}
	writeJSON(w, http.StatusOK, resp)
}

// decideOne asks the current engine; an engine error is already a deny
// decision with the reason (fail closed) and is logged.
func (s *Server) decideOne(r *http.Request, in *model.Input) model.Decision {
	e := s.deps.Bundles.Current()
	d, err := e.Decide(r.Context(), in)
	if err != nil {
		s.log.Error("dry-run decision failed", "agent", in.Agent, "kind", in.Kind, "error", err.Error())
		if d.Result == "" {
			d = model.Decision{Result: model.Deny, Reason: "policy evaluation failed, denied (fail closed)"}
		}
	}
	if d.Revision == "" {
		d.Revision = e.Revision()
	}
	return d
}
