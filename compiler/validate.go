package compiler

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// validate checks what spans blocks: references between them, identities
// one token could match twice, roles nobody holds and review dates.
func validate(cfg *config, opts Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	held := map[string]bool{}
	for _, a := range cfg.agents {
		for _, it := range a.RoleItems {
			held[it.Value] = true
			if _, ok := cfg.byRole[it.Value]; !ok {
				diags = append(diags, unknownName(it, kindRole))
			}
		}
	}
	for _, r := range cfg.roles {
		diags = append(diags, checkGrantRefs(cfg, r.Refs)...)
		diags = append(diags, checkGrantRefs(cfg, r.Requestable)...)
		for _, it := range r.Approvers {
			if _, ok := cfg.byGroup[it.Value]; !ok {
				diags = append(diags, unknownName(it, kindGroup))
			}
		}
		for _, it := range r.Reviewers {
			if _, ok := cfg.byGroup[it.Value]; !ok {
				diags = append(diags, unknownName(it, kindGroup))
			}
		}
		diags = append(diags, checkReview(r, opts.Now, opts.FailOnOverdue)...)
		if !held[r.Name] {
			diags = append(diags, warnDiag(&r.NameRange, "Role held by no agent",
				fmt.Sprintf("No agent holds role %q. Grant it to an agent or remove it.", r.Name)))
		}
	}
	diags = append(diags, checkIdentityOverlap(cfg.agents)...)
	return diags
}

func unknownName(it item, kind string) *hcl.Diagnostic {
	return errDiag(&it.Range, "Reference to undeclared "+kind,
		fmt.Sprintf("No %s named %q is declared in this repository.", kind, it.Value))
}

func checkGrantRefs(cfg *config, refs []grantRef) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, ref := range refs {
		c, ok := cfg.byConn[ref.Connection]
		switch {
		case !ok:
			diags = append(diags, errDiag(&ref.Range, "Reference to undeclared connection",
				fmt.Sprintf("This %s grant names connection %q, which is not declared.", ref.Kind, ref.Connection)))
		case c.Type != "" && c.Type != ref.Kind:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Grant to a connection of the wrong type",
				Detail: fmt.Sprintf("Connection %q is of type %s (declared at %s), so it cannot take a %s grant. Use a %s block for it, or name a %s connection.",
					ref.Connection, c.Type, c.DeclRange.String(), ref.Kind, c.Type, ref.Kind),
				Subject: &ref.Range,
			})
		}
		for _, it := range ref.Masking {
			if _, ok := cfg.byMasking[it.Value]; !ok {
				diags = append(diags, unknownName(it, kindMasking))
			}
		}
	}
	return diags
}

// checkIdentityOverlap reports two agents whose identities one token could
// match: the same issuer, compatible subjects (equal, or one unset) and
// claims that do not contradict each other.
func checkIdentityOverlap(agents []*agent) hcl.Diagnostics {
	type ident struct {
		agent int
		idx   int
	}
	byIssuer := map[string][]ident{}
	var issuers []string
	for ai, a := range agents {
		for ii, id := range a.Identities {
			if _, ok := byIssuer[id.Issuer]; !ok {
				issuers = append(issuers, id.Issuer)
			}
			byIssuer[id.Issuer] = append(byIssuer[id.Issuer], ident{ai, ii})
		}
	}
	var diags hcl.Diagnostics
	reported := map[[2]int]bool{}
	for _, iss := range issuers {
		list := byIssuer[iss]
		bySubject := map[string][]ident{}
		var wild []ident
		for _, x := range list {
			s := agents[x.agent].Identities[x.idx].Subject
			if s == "" {
				wild = append(wild, x)
			} else {
				bySubject[s] = append(bySubject[s], x)
			}
		}
		check := func(a, b ident) {
			if a.agent == b.agent {
				return
			}
			first, second := a, b
			if b.agent < a.agent {
				first, second = b, a
			}
			key := [2]int{first.agent, second.agent}
			if reported[key] {
				return
			}
			ia, ib := agents[first.agent].Identities[first.idx], agents[second.agent].Identities[second.idx]
			if !claimsCompatible(ia.Claims, ib.Claims) {
				return
			}
			reported[key] = true
			rng := agents[second.agent].IdentityRanges[second.idx]
			diags = append(diags, errDiag(&rng, "Ambiguous agent identity",
				fmt.Sprintf("A token from %s could match both agent %q (identity at %s) and agent %q. Make the subjects or claims distinct so each token names one agent.",
					iss, agents[first.agent].Name, agents[first.agent].IdentityRanges[first.idx].String(), agents[second.agent].Name)))
		}
		for _, s := range sortedKeys(bySubject) {
			group := bySubject[s]
			for i := range group {
				for j := i + 1; j < len(group); j++ {
					check(group[i], group[j])
				}
			}
		}
		for i, w := range wild {
			for j := i + 1; j < len(wild); j++ {
				check(w, wild[j])
			}
			for _, x := range list {
				if agents[x.agent].Identities[x.idx].Subject != "" {
					check(w, x)
				}
			}
		}
	}
	return diags
}

func claimsCompatible(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; ok && w != v {
			return false
		}
	}
	return true
}
