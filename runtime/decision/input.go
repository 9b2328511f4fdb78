package decision

import (
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mandatehq/mandate/model"
)

// inputValue builds the Rego input for in directly as an AST value, the
// same document encoding/json would give, without a JSON round trip.
func inputValue(in *model.Input) ast.Value {
	terms := [][2]*ast.Term{
		ast.Item(ast.InternedTerm("kind"), ast.StringTerm(in.Kind)),
		ast.Item(ast.InternedTerm("agent"), ast.StringTerm(in.Agent)),
		ast.Item(ast.InternedTerm("connection"), ast.StringTerm(in.Connection)),
		ast.Item(ast.InternedTerm("now_unix"), ast.IntNumberTerm(int(in.NowUnix))),
	}
	if in.Statement != nil {
		terms = append(terms, ast.Item(ast.InternedTerm("statement"), ast.NewTerm(statementValue(in.Statement))))
	}
	if in.Command != "" {
		terms = append(terms, ast.Item(ast.InternedTerm("command"), ast.StringTerm(in.Command)))
	}
	if in.Shell {
		terms = append(terms, ast.Item(ast.InternedTerm("shell"), ast.BooleanTerm(true)))
	}
	if len(in.Approvals) > 0 {
		approvals := make([]*ast.Term, len(in.Approvals))
		for i, a := range in.Approvals {
			approvals[i] = ast.ObjectTerm(
				ast.Item(ast.InternedTerm("id"), ast.StringTerm(a.ID)),
				ast.Item(ast.InternedTerm("role"), ast.StringTerm(a.Role)),
			)
		}
		terms = append(terms, ast.Item(ast.InternedTerm("approvals"), ast.ArrayTerm(approvals...)))
	}
	return ast.NewObject(terms...)
}

func statementValue(s *model.Statement) ast.Value {
	accesses := make([]*ast.Term, len(s.Accesses))
	for i, a := range s.Accesses {
		items := [][2]*ast.Term{ast.Item(ast.InternedTerm("class"), ast.StringTerm(a.Class))}
		if a.Table != "" {
			items = append(items, ast.Item(ast.InternedTerm("table"), ast.StringTerm(a.Table)))
		}
		accesses[i] = ast.ObjectTerm(items...)
	}
	terms := [][2]*ast.Term{
		ast.Item(ast.InternedTerm("fingerprint"), ast.StringTerm(s.Fingerprint)),
		ast.Item(ast.InternedTerm("tag"), ast.StringTerm(s.Tag)),
		ast.Item(ast.InternedTerm("accesses"), ast.ArrayTerm(accesses...)),
	}
	if len(s.Functions) > 0 {
		terms = append(terms, ast.Item(ast.InternedTerm("functions"), stringArray(s.Functions)))
	}
	if len(s.FilterColumns) > 0 {
		terms = append(terms, ast.Item(ast.InternedTerm("filter_columns"), stringArray(s.FilterColumns)))
	}
	if s.Always {
		terms = append(terms, ast.Item(ast.InternedTerm("always"), ast.BooleanTerm(true)))
	}
	if s.Forbidden != "" {
		terms = append(terms, ast.Item(ast.InternedTerm("forbidden"), ast.StringTerm(s.Forbidden)))
	}
	return ast.NewObject(terms...)
}

func stringArray(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}
