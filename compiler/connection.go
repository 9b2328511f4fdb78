package compiler

import (
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
	"golang.org/x/crypto/ssh"
)

// connection is a decoded connection block.
type connection struct {
	model.Connection
	DeclRange hcl.Range
	TypeRange hcl.Range
}

var connectionSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type", Required: true},
		{Name: "address", Required: true},
		{Name: "database"},
		{Name: "host_key"},
		{Name: "description"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "credential"}, {Type: "tls"}},
}

var credentialSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "username", Required: true},
	{Name: "password"},
	{Name: "private_key"},
}}

var tlsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "mode"},
	{Name: "ca"},
}}

// TLSModes are the postgres upstream TLS modes; DefaultTLSMode applies when
// a postgres connection has no tls block.
var TLSModes = []string{"disable", "require", "verify-ca", "verify-full"}

const DefaultTLSMode = "verify-full"

func decodeConnectionBlock(e *evaluator, b *hcl.Block) (*connection, hcl.Diagnostics) {
	c := &connection{DeclRange: b.DefRange}
	c.Name = b.Labels[0]
	c.Source = source(b.DefRange)
	content, diags := b.Body.Content(connectionSchema)
	if content == nil {
		return c, diags
	}
	var ds hcl.Diagnostics
	c.Type, ds = e.str(content.Attributes["type"])
	diags = append(diags, ds...)
	if a := content.Attributes["type"]; a != nil {
		c.TypeRange = a.Expr.Range()
		if !ds.HasErrors() && c.Type != "postgres" && c.Type != "ssh" {
			diags = append(diags, errDiag(&c.TypeRange, "Unsupported connection type",
				fmt.Sprintf("%q is not a connection type; use \"postgres\" or \"ssh\".", c.Type)))
		}
	}
	c.Address, ds = e.str(content.Attributes["address"])
	diags = append(diags, ds...)
	socket := false
	if a := content.Attributes["address"]; a != nil && !ds.HasErrors() {
		rng := a.Expr.Range()
		_, _, isSocket, err := model.SocketAddress(c.Address)
		switch {
		case isSocket && c.Type != "postgres":
			diags = append(diags, errDiag(&rng, "Invalid address",
				fmt.Sprintf("%q is a Unix socket path; only postgres connections reach their upstream through a Unix socket, so use host:port.", c.Address)))
		case isSocket && err != nil:
			diags = append(diags, errDiag(&rng, "Invalid address",
				fmt.Sprintf("%q is not a Unix socket address: %s.", c.Address, err)))
		case isSocket:
			socket = true
		default:
			if err := checkAddress(c.Address); err != nil {
				diags = append(diags, errDiag(&rng, "Invalid address",
					fmt.Sprintf("%q is not a host:port address: %s.", c.Address, err)))
			}
		}
	}
	c.Database, ds = e.str(content.Attributes["database"])
	diags = append(diags, ds...)
	_, ds = e.str(content.Attributes["description"])
	diags = append(diags, ds...)
	c.HostKey, ds = e.str(content.Attributes["host_key"])
	diags = append(diags, ds...)
	if a := content.Attributes["host_key"]; a != nil && !ds.HasErrors() {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.HostKey)); err != nil {
			rng := a.Expr.Range()
			diags = append(diags, errDiag(&rng, "Invalid host key",
				fmt.Sprintf("host_key must be one public key in authorized_keys form (\"ssh-ed25519 AAAA...\"): %s.", err)))
		}
	}

	var cred, tls *hcl.Block
	for _, blk := range content.Blocks {
		var first **hcl.Block = &cred
		if blk.Type == "tls" {
			first = &tls
		}
		if *first != nil {
			diags = append(diags, errDiag(&blk.DefRange, "Duplicate "+blk.Type+" block",
				fmt.Sprintf("A connection has at most one %s block; the first is at %s.", blk.Type, (*first).DefRange.String())))
			continue
		}
		*first = blk
	}
	if cred == nil {
		diags = append(diags, errDiag(&c.DeclRange, "Missing credential block",
			"A connection needs a credential block naming the upstream username and a password or private_key reference."))
	} else {
		diags = append(diags, decodeCredential(e, c, cred)...)
	}
	switch c.Type {
	case "postgres":
		if content.Attributes["database"] == nil {
			diags = append(diags, errDiag(&c.DeclRange, "Missing database",
				"A postgres connection needs a database argument naming the upstream database."))
		}
		if content.Attributes["host_key"] != nil {
			rng := content.Attributes["host_key"].NameRange
			diags = append(diags, errDiag(&rng, "Argument not valid for postgres", "host_key applies to ssh connections only."))
		}
		c.TLSMode = DefaultTLSMode
		if socket {
			// PostgreSQL speaks no TLS over its Unix socket; the socket
			// file's permissions guard it. Say so rather than let a
			// verifying mode be silently dropped, as libpq would.
			c.TLSMode = "disable"
		}
		if tls != nil {
			diags = append(diags, decodeTLS(e, c, tls)...)
			if socket && (c.TLSMode != "disable" || c.TLSCA != nil) {
				diags = append(diags, errDiag(&tls.DefRange, "TLS over a Unix socket",
					fmt.Sprintf("Connection %q reaches PostgreSQL through the Unix socket %s, where PostgreSQL speaks no TLS; remove the tls block, or use a host:port address to connect with TLS.", c.Name, c.Address)))
			}
		}
	case "ssh":
		if content.Attributes["host_key"] == nil {
			diags = append(diags, errDiag(&c.DeclRange, "Missing host key",
				"An ssh connection needs host_key, the upstream's public host key, so the gateway can verify the host it connects to."))
		}
		if a := content.Attributes["database"]; a != nil {
			rng := a.NameRange
			diags = append(diags, errDiag(&rng, "Argument not valid for ssh", "database applies to postgres connections only."))
		}
		if tls != nil {
			diags = append(diags, errDiag(&tls.DefRange, "Block not valid for ssh", "tls applies to postgres connections only; ssh uses host_key."))
		}
	}
	return c, diags
}

func decodeCredential(e *evaluator, c *connection, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(credentialSchema)
	if content == nil {
		return diags
	}
	var ds hcl.Diagnostics
	c.Credential.Username, ds = e.str(content.Attributes["username"])
	diags = append(diags, ds...)
	c.Credential.Password, ds = e.secretRef(content.Attributes["password"])
	diags = append(diags, ds...)
	c.Credential.PrivateKey, ds = e.secretRef(content.Attributes["private_key"])
	diags = append(diags, ds...)
	if c.Type == "ssh" && content.Attributes["private_key"] == nil && content.Attributes["password"] == nil {
		diags = append(diags, errDiag(&b.DefRange, "Missing SSH credential",
			"An ssh credential needs private_key = file(\"...\") or env(\"...\") (or a password reference)."))
	}
	if c.Type == "postgres" && content.Attributes["private_key"] != nil {
		rng := content.Attributes["private_key"].NameRange
		diags = append(diags, errDiag(&rng, "Argument not valid for postgres", "private_key applies to ssh connections; postgres uses password."))
	}
	return diags
}

func decodeTLS(e *evaluator, c *connection, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(tlsSchema)
	if content == nil {
		return diags
	}
	if a := content.Attributes["mode"]; a != nil {
		mode, ds := e.str(a)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			if !contains(TLSModes, mode) {
				rng := a.Expr.Range()
				diags = append(diags, errDiag(&rng, "Invalid TLS mode",
					fmt.Sprintf("%q is not a TLS mode; use one of disable, require, verify-ca, verify-full.", mode)))
			} else {
				c.TLSMode = mode
			}
		}
	}
	var ds hcl.Diagnostics
	c.TLSCA, ds = e.secretRef(content.Attributes["ca"])
	return append(diags, ds...)
}

func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("the host is empty")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number between 1 and 65535", port)
	}
	return nil
}

func source(r hcl.Range) model.Source {
	return model.Source{File: r.Filename, Line: r.Start.Line, Column: r.Start.Column}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
