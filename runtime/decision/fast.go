package decision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gobwas/glob"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/policies"
)

// fastPath decides the common inputs natively, from the same compiled model
// the bundle's data holds, and gives every other input back to OPA. It is a
// transcription of this release's Rego library (policies/mandate) for the
// inputs that carry no approval (the gateway has no approvals yet): standing
// grants, reviews overdue under every on_overdue, and requestable grants. It is
// used only when the bundle carries that library byte for byte (see
// stockLibrary), and TestFastPathAgreesWithRego checks it decides exactly as
// the Rego does over random policies and inputs.
//
// Every case it does not model reports ok == false: an agent with null
// roles, a connection of a type with no grants, approvals in the input, a pattern
// that does not compile, null approver or reviewer lists, or an ambiguous
// masked-filter denial.
type fastPath struct {
	policy *model.Policy
	roles  map[string]*fastRole
	rules  map[string][]*fastRule // masking name -> column rules
}

type fastRole struct {
	review   *model.Review
	approval *model.Approval
	postgres map[string]*pgGrant
	ssh      map[string]*sshGrant
	// The requestable grants of the role's approval block.
	reqPostgres map[string]*pgGrant
	reqSSH      map[string]*sshGrant
}

type pgGrant struct {
	g          *model.PostgresGrant
	broken     bool // a pattern does not compile: OPA reports the error
	classes    map[string]bool
	tables     map[string]bool
	tableGlobs []*glob.Pattern
	funcGlobs  []*glob.Pattern
	writes     bool
}

type sshGrant struct {
	g        *model.SSHGrant
	broken   bool
	commands []*glob.Pattern
}

type fastRule struct {
	r      *model.ColumnRule
	broken bool
	full   *glob.Pattern
	prefix *glob.Pattern // the pattern without its last part, nil for one part
}

// sshSeparators are the characters "*" does not cross in command patterns
// (mandate.ssh.separators).
var sshSeparators = []rune{'\n', '\r', ';', '&', '|', '`', '$', '(', ')', '<', '>'}

// stockLibrary reports whether the bundle's Rego modules are exactly the
// library compiled into this binary, which the fast path transcribes.
func stockLibrary(b *bundle.Loaded) bool {
	lib := policies.Files()
	want := make(map[string]string, len(lib))
	for _, f := range lib {
		sum := sha256.Sum256(f.Data)
		want[f.Path] = hex.EncodeToString(sum[:])
	}
	n := 0
	for _, f := range b.Files {
		if !strings.HasSuffix(f.Path, ".rego") {
			continue
		}
		if want[f.Path] != f.SHA256 {
			return false
		}
		n++
	}
	return n == len(want) && len(b.Modules) == len(want)
}

func newFastPath(p *model.Policy) *fastPath {
	f := &fastPath{policy: p, roles: make(map[string]*fastRole, len(p.Roles)), rules: map[string][]*fastRule{}}
	for name, r := range p.Roles {
		fr := &fastRole{review: r.Review, approval: r.Approval, postgres: map[string]*pgGrant{}, ssh: map[string]*sshGrant{},
			reqPostgres: map[string]*pgGrant{}, reqSSH: map[string]*sshGrant{}}
		for conn, g := range r.Postgres {
			fr.postgres[conn] = compilePG(g)
		}
		for conn, g := range r.SSH {
			fr.ssh[conn] = compileSSH(g)
		}
		if a := r.Approval; a != nil {
			for conn, g := range a.Postgres {
				fr.reqPostgres[conn] = compilePG(g)
			}
			for conn, g := range a.SSH {
				fr.reqSSH[conn] = compileSSH(g)
			}
		}
		f.roles[name] = fr
	}
	for name, m := range p.Maskings {
		rules := make([]*fastRule, len(m.Columns))
		for i, c := range m.Columns {
			rules[i] = compileRule(c)
		}
		f.rules[name] = rules
	}
	return f
}

func compilePG(g *model.PostgresGrant) *pgGrant {
	pg := &pgGrant{g: g, classes: map[string]bool{}, tables: map[string]bool{}}
	for _, c := range g.Statements {
		pg.classes[c] = true
		if c == "*" || slices.Contains(model.WriteClasses, c) {
			pg.writes = true
		}
	}
	for _, t := range g.Tables {
		pg.tables[t] = true
		gl, err := glob.Compile(t, '.')
		pg.broken = pg.broken || err != nil
		pg.tableGlobs = append(pg.tableGlobs, gl)
	}
	for _, fn := range g.Functions {
		gl, err := glob.Compile(fn, '.')
		pg.broken = pg.broken || err != nil
		pg.funcGlobs = append(pg.funcGlobs, gl)
	}
	return pg
}

func compileSSH(g *model.SSHGrant) *sshGrant {
	s := &sshGrant{g: g}
	for _, c := range g.Commands {
		gl, err := glob.Compile(c, sshSeparators...)
		s.broken = s.broken || err != nil
		s.commands = append(s.commands, gl)
	}
	return s
}

func compileRule(c *model.ColumnRule) *fastRule {
	r := &fastRule{r: c}
	var err error
	if r.full, err = glob.Compile(c.Column, '.'); err != nil {
		r.broken = true
	}
	if parts := strings.Split(c.Column, "."); len(parts) > 1 {
		if r.prefix, err = glob.Compile(strings.Join(parts[:len(parts)-1], "."), '.'); err != nil {
			r.broken = true
		}
	}
	return r
}

// view is what mandate.lib computes for one agent on one connection when
// the input carries no approval: the usable, blocked and requestable
// grants, each sorted by role name as Rego iterates an object.
type view struct {
	agent *model.Agent
	conn  *model.Connection
	roles []string
	pg    []*pgGrant
	ssh   []*sshGrant
	// blocked are the standing grants of roles whose review is overdue
	// with on_overdue other than warn (no approval can unblock them here).
	blkNames []string
	blkRoles []*fastRole
	blkPG    []*pgGrant
	blkSSH   []*sshGrant
	// overdue are the roles overdue with on_overdue = warn: usable, and
	// reported.
	overdue []string
	// The requestable grants (none approved: there are no approvals),
	// sorted by role name too.
	reqRoles    []*fastRole
	reqNames    []string
	reqPG       []*pgGrant
	reqSSH      []*sshGrant
	requestable bool
}

func (f *fastPath) view(in *model.Input, a *model.Agent, c *model.Connection) (*view, bool) {
	// An agent whose roles are null (not []) makes the Rego undefined.
	if len(in.Approvals) > 0 || a.Roles == nil || (c.Type != "postgres" && c.Type != "ssh") {
		return nil, false
	}
	v := &view{agent: a, conn: c}
	roles := slices.Clone(a.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	for _, name := range roles {
		r := f.roles[name]
		if r == nil {
			continue
		}
		var has, broken bool
		switch c.Type {
		case "postgres":
			if g := r.postgres[in.Connection]; g != nil {
				has, broken = true, g.broken
				v.pg = append(v.pg, g)
			}
			if g := r.reqPostgres[in.Connection]; g != nil {
				v.reqRoles, v.reqNames, v.reqPG = append(v.reqRoles, r), append(v.reqNames, name), append(v.reqPG, g)
				broken = broken || g.broken
			}
		case "ssh":
			if g := r.ssh[in.Connection]; g != nil {
				has, broken = true, g.broken
				v.ssh = append(v.ssh, g)
			}
			if g := r.reqSSH[in.Connection]; g != nil {
				v.reqRoles, v.reqNames, v.reqSSH = append(v.reqRoles, r), append(v.reqNames, name), append(v.reqSSH, g)
				broken = broken || g.broken
			}
		}
		if broken {
			return nil, false
		}
		if !has {
			continue
		}
		if r.review != nil && in.NowUnix > r.review.DueUnix+r.review.GraceSeconds {
			if r.review.OnOverdue != "warn" {
				v.block(name, r, c.Type)
				continue
			}
			v.overdue = append(v.overdue, name)
		}
		v.roles = append(v.roles, name)
	}
	v.requestable = len(v.reqRoles) > 0
	return v, true
}

// block moves the grant just added to the usable ones to the blocked ones.
func (v *view) block(name string, r *fastRole, kind string) {
	v.blkNames, v.blkRoles = append(v.blkNames, name), append(v.blkRoles, r)
	if kind == "postgres" {
		v.blkPG = append(v.blkPG, v.pg[len(v.pg)-1])
		v.pg = v.pg[:len(v.pg)-1]
	} else {
		v.blkSSH = append(v.blkSSH, v.ssh[len(v.ssh)-1])
		v.ssh = v.ssh[:len(v.ssh)-1]
	}
}

// noGrant is mandate.lib.has_no_grant.
func (v *view) noGrant() bool {
	return len(v.roles) == 0 && len(v.blkNames) == 0 && !v.requestable
}

// decide returns the decision the Rego library would, or ok == false when
// the input is not one the fast path models.
func (f *fastPath) decide(in *model.Input) (d model.Decision, ok bool) {
	// The denials every entrypoint checks first, in the Rego's order.
	a := f.policy.Agents[in.Agent]
	if a == nil {
		return deny(fmt.Sprintf("agent %q is not defined in the policy", in.Agent), nil), true
	}
	c := f.policy.Connections[in.Connection]
	if c == nil {
		return deny(fmt.Sprintf("connection %q is not defined in the policy", in.Connection), &a.Source), true
	}
	if (in.Kind == "postgres" || in.Kind == "ssh") && c.Type != in.Kind {
		return deny(fmt.Sprintf("connection %s is of type %s, not %s", in.Connection, c.Type, in.Kind), &c.Source), true
	}
	switch {
	case in.Kind == "postgres" && in.Statement == nil:
		return deny("no statement was given", &a.Source), true
	case in.Kind == "postgres" && in.Statement.Forbidden != "":
		return deny("statement is never allowed: "+in.Statement.Forbidden, &a.Source), true
	case in.Kind == "ssh" && !in.Shell && in.Command == "":
		return deny("no command was given", &a.Source), true
	}
	v, ok := f.view(in, a, c)
	if !ok {
		return d, false
	}
	switch in.Kind {
	case "postgres":
		return f.postgres(in, v)
	case "ssh":
		return f.ssh(in, v)
	case "session":
		return f.session(in, v)
	}
	return d, false
}

func (f *fastPath) postgres(in *model.Input, v *view) (model.Decision, bool) {
	st := in.Statement
	what := describeStatement(st)
	if st.Always && len(v.roles) > 0 {
		return v.allow(0, in, what+" (every session with a grant on "+in.Connection+" may)"), true
	}
	var uncovered []model.Access
	for _, a := range st.Accesses {
		if !slices.ContainsFunc(v.pg, func(g *pgGrant) bool { return g.covers(a) }) {
			uncovered = append(uncovered, a)
		}
	}
	var uncoveredFuncs []string
	for _, fn := range st.Functions {
		if !slices.ContainsFunc(v.pg, func(g *pgGrant) bool { return g.functionOK(fn) }) {
			uncoveredFuncs = append(uncoveredFuncs, fn)
		}
	}
	if len(v.roles) > 0 && len(uncovered) == 0 && len(uncoveredFuncs) == 0 {
		if len(st.FilterColumns) > 0 {
			if d, found, ok := f.maskedFilter(in, v); !ok || found {
				return d, ok
			}
		}
		return v.allow(v.decider(st), in, what), true
	}
	if v.noGrant() {
		return noGrant(in, v), true
	}
	// review_role: the first blocked grant covering what the usable ones
	// leave uncovered.
	for i, g := range v.blkPG {
		if g.coversRest(uncovered, uncoveredFuncs) {
			return v.reviewOutcome(i, in, what)
		}
	}
	// pending_role: the first requestable grant covering what the standing
	// ones leave uncovered.
	for i, g := range v.reqPG {
		if g.coversRest(uncovered, uncoveredFuncs) {
			return v.requestableOutcome(i, in, what)
		}
	}
	var missing string
	switch {
	case len(uncovered) > 0 && uncovered[0].Table != "":
		missing = uncovered[0].Class + " on " + uncovered[0].Table
	case len(uncovered) > 0:
		missing = uncovered[0].Class
	default:
		missing = strings.Join(uncoveredFuncs, ", ")
	}
	return deny(fmt.Sprintf("agent %s may not %s on %s: none of its roles (%s) grants %s",
		in.Agent, what, in.Connection, roleNames(v.agent), missing), &v.agent.Source), true
}

// decider is the index of the grant mandate.postgres reports for a covered
// statement: the only one; else the first covering the whole statement;
// else the first covering its first access; else the first.
func (v *view) decider(st *model.Statement) int {
	if len(v.pg) == 1 {
		return 0
	}
	for i, g := range v.pg {
		if g.coversAll(st) {
			return i
		}
	}
	if len(st.Accesses) > 0 {
		for i, g := range v.pg {
			if g.covers(st.Accesses[0]) {
				return i
			}
		}
	}
	return 0
}

// maskedFilter finds the smallest [column, masking, rule] of
// mandate.postgres.masked_filters. ok is false when it cannot tell which
// rule Rego would report: two rules of one masking on one column.
func (f *fastPath) maskedFilter(in *model.Input, v *view) (d model.Decision, found, ok bool) {
	var best *fastRule
	var bestCol, bestMask string
	tie := false
	for _, m := range v.masking() {
		for _, rule := range f.rules[m] {
			if rule.r.AllowFilter {
				continue
			}
			if rule.broken {
				return d, false, false
			}
			for _, c := range in.Statement.FilterColumns {
				if !rule.matchesFilter(c) {
					continue
				}
				switch {
				case best == nil || c < bestCol || (c == bestCol && m < bestMask):
					best, bestCol, bestMask, tie = rule, c, m, false
				case c == bestCol && m == bestMask && rule != best:
					tie = true
				}
			}
		}
	}
	if best == nil {
		return d, false, true
	}
	if tie {
		return d, true, false
	}
	return deny(fmt.Sprintf("agent %s may not filter on %s: it is masked by %s (method %s), and filtering would reveal its values; set allow_filter = true on the column rule to permit it",
		in.Agent, bestCol, bestMask, best.r.Method), &best.r.Source), true, true
}

func (r *fastRule) matchesFilter(c string) bool {
	if r.full.Match(c) {
		return true
	}
	return r.prefix != nil && strings.HasSuffix(c, ".*") && r.prefix.Match(strings.TrimSuffix(c, ".*"))
}

func (f *fastPath) ssh(in *model.Input, v *view) (model.Decision, bool) {
	if v.noGrant() {
		return noGrant(in, v), true
	}
	what := "open an interactive shell"
	if !in.Shell {
		what = fmt.Sprintf("run %q", in.Command)
	}
	for i, g := range v.ssh {
		if g.covers(in) {
			return v.allow(i, in, what), true
		}
	}
	for i, g := range v.blkSSH {
		if g.covers(in) {
			return v.reviewOutcome(i, in, what)
		}
	}
	for i, g := range v.reqSSH {
		if g.covers(in) {
			return v.requestableOutcome(i, in, what)
		}
	}
	return deny(fmt.Sprintf("agent %s may not %s on %s: no command pattern of its roles (%s) matches",
		in.Agent, what, in.Connection, roleNames(v.agent)), &v.agent.Source), true
}

func (f *fastPath) session(in *model.Input, v *view) (model.Decision, bool) {
	if v.noGrant() {
		return noGrant(in, v), true
	}
	what := "open a session on " + in.Connection
	switch {
	case len(v.roles) > 0:
		return v.allow(0, in, what), true
	case len(v.blkNames) > 0:
		return v.reviewOutcome(0, in, what)
	}
	return v.requestableOutcome(0, in, what)
}

// allow is mandate.lib.allow for the i-th standing grant.
func (v *view) allow(i int, in *model.Input, what string) model.Decision {
	d := model.Decision{
		Result:  model.Allow,
		Reason:  "agent " + in.Agent + " may " + what + ": role " + v.roles[i] + " grants it on " + in.Connection,
		Role:    v.roles[i],
		Grant:   in.Connection,
		Masking: v.masking(),
		Overdue: v.overdue,
	}
	if v.conn.Type == "postgres" {
		d.Source = &v.pg[i].g.Source
		d.ReadOnly = !slices.ContainsFunc(v.pg, func(g *pgGrant) bool { return g.writes })
	} else {
		d.Source = &v.ssh[i].g.Source
	}
	return d
}

// requestableOutcome is mandate.lib.requestable_outcome for the i-th
// requestable grant.
func (v *view) requestableOutcome(i int, in *model.Input, what string) (model.Decision, bool) {
	role, r := v.reqNames[i], v.reqRoles[i]
	return v.needsApproval(in, role, r, "agent "+in.Agent+" may "+what+" only with an approval: role "+role+" makes it requestable", &r.approval.Source)
}

// reviewOutcome is mandate.lib.review_outcome for the i-th blocked grant.
func (v *view) reviewOutcome(i int, in *model.Input, what string) (model.Decision, bool) {
	role, r := v.blkNames[i], v.blkRoles[i]
	due := time.Unix(r.review.DueUnix, 0).UTC().Format("2006-01-02")
	if r.review.OnOverdue != "require_approval" {
		return deny(fmt.Sprintf("agent %s may not %s: the review of role %s was due on %s and is overdue (on_overdue = deny)",
			in.Agent, what, role, due), &r.review.Source), true
	}
	return v.needsApproval(in, role, r, fmt.Sprintf("agent %s may not %s without an approval: the review of role %s was due on %s and is overdue, so an approval is required (on_overdue = require_approval)",
		in.Agent, what, role, due), &r.review.Source)
}

// needsApproval is mandate.lib.needs_approval, with approval_hint.
func (v *view) needsApproval(in *model.Input, role string, r *fastRole, reason string, src *model.Source) (model.Decision, bool) {
	subject := map[string]string{"postgres": "statement", "ssh": "command", "session": "session"}[in.Kind]
	var hint string
	switch a := r.approval; {
	case a != nil && a.Approvers == nil, a == nil && (r.review == nil || r.review.Reviewers == nil):
		return model.Decision{}, false // null groups: Rego's group_list is undefined
	case a != nil && a.MinApprovals <= 1:
		hint = fmt.Sprintf("this %s is requestable with approval from %s (role %s, max %s)", subject, groupList(a.Approvers), role, duration(a.MaxTTLSecond))
	case a != nil:
		hint = fmt.Sprintf("this %s is requestable with %d approvals from %s (role %s, max %s)", subject, a.MinApprovals, groupList(a.Approvers), role, duration(a.MaxTTLSecond))
	default:
		hint = fmt.Sprintf("this %s needs an approval for role %s, whose review is overdue: ask %s to approve it or to review the role", subject, role, groupList(r.review.Reviewers))
	}
	return model.Decision{
		Result:      model.NeedsApproval,
		Reason:      reason,
		Source:      src,
		Role:        role,
		Grant:       in.Connection,
		Requestable: role,
		Hint:        hint,
		Masking:     v.masking(),
		Overdue:     v.overdue,
	}, true
}

// groupList is mandate.lib.group_list.
func groupList(gs []string) string {
	switch len(gs) {
	case 0:
		return "no approver group"
	case 1:
		return "group " + gs[0]
	}
	return "groups " + strings.Join(gs, ", ")
}

// duration is mandate.lib.duration.
func duration(s int64) string {
	switch {
	case s > 0 && s%3600 == 0:
		return fmt.Sprintf("%dh", s/3600)
	case s > 0 && s%60 == 0:
		return fmt.Sprintf("%dm", s/60)
	}
	return fmt.Sprintf("%ds", s)
}

// masking is the sorted union of the masking names of every standing
// grant, blocked ones included, nil when there are none.
func (v *view) masking() []string {
	var out []string
	for _, g := range v.pg {
		out = append(out, g.g.Masking...)
	}
	for _, g := range v.blkPG {
		out = append(out, g.g.Masking...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (g *pgGrant) covers(a model.Access) bool {
	if !g.classes[a.Class] && !g.classes["*"] {
		return false
	}
	if a.Table == "" || g.tables[a.Table] {
		return true
	}
	return slices.ContainsFunc(g.tableGlobs, func(p *glob.Pattern) bool { return p.Match(a.Table) })
}

func (g *pgGrant) functionOK(fn string) bool {
	for i, p := range g.g.Functions {
		if g.funcGlobs[i].Match(fn) || "pg_catalog."+p == fn || "pg_catalog."+fn == p {
			return true
		}
	}
	return false
}

func (g *pgGrant) coversAll(st *model.Statement) bool {
	return g.coversRest(st.Accesses, st.Functions)
}

// coversRest is mandate.postgres.covers_rest.
func (g *pgGrant) coversRest(accesses []model.Access, functions []string) bool {
	for _, a := range accesses {
		if !g.covers(a) {
			return false
		}
	}
	for _, fn := range functions {
		if !g.functionOK(fn) {
			return false
		}
	}
	return true
}

func (g *sshGrant) covers(in *model.Input) bool {
	if in.Shell {
		return g.g.Interactive
	}
	return slices.ContainsFunc(g.commands, func(p *glob.Pattern) bool { return p.Match(in.Command) })
}

// describeStatement is mandate.postgres.what.
func describeStatement(st *model.Statement) string {
	if len(st.Accesses) == 0 {
		return "run " + st.Tag
	}
	var b strings.Builder
	for i, a := range st.Accesses {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Class)
		if a.Table != "" {
			b.WriteString(" " + a.Table)
		}
	}
	return b.String()
}

func roleNames(a *model.Agent) string {
	rs := slices.Clone(a.Roles)
	slices.Sort(rs)
	return strings.Join(rs, ", ")
}

func noGrant(in *model.Input, v *view) model.Decision {
	return deny(fmt.Sprintf("agent %s holds no role with a grant on connection %s (roles: %s)",
		in.Agent, in.Connection, roleNames(v.agent)), &v.agent.Source)
}

func deny(reason string, src *model.Source) model.Decision {
	return model.Decision{Result: model.Deny, Reason: reason, Source: src}
}
