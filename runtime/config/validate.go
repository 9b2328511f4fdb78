package config

import (
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var logLevels = []string{"debug", "info", "warn", "error"}

// validate fills defaults, resolves relative paths against c.Dir and
// reports what cannot work.
func (c *Config) validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	c.StateDir = c.Path(c.StateDir)
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.Listen.DeclRange == (hcl.Range{}) { // no listen block
		c.Listen.API = DefaultAPIAddr
	}
	if c.TLS != nil {
		c.TLS.Cert, c.TLS.Key = c.Path(c.TLS.Cert), c.Path(c.TLS.Key)
	}
	for kid, p := range c.Bundle.Keys {
		if !strings.Contains(p, "-----BEGIN") {
			c.Bundle.Keys[kid] = c.Path(p)
		}
	}
	for _, iss := range c.Issuers {
		if iss.JWKSFile != "" {
			iss.JWKSFile = c.Path(iss.JWKSFile)
		}
	}
	if c.Store == nil {
		c.Store = &Store{SQLite: filepath.Join(c.StateDir, "mandate.db")}
	} else if c.Store.SQLite != "" {
		c.Store.SQLite = c.Path(c.Store.SQLite)
	}
	if c.Store.Durability == "" {
		c.Store.Durability = "sync"
	}
	if c.Store.Retention == 0 {
		c.Store.Retention = DefaultRetention
	}
	return diags
}

// Path resolves p against the configuration file's directory.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// SourcePath returns the file path of a file:// bundle source, resolved
// against the configuration directory, and false for other sources.
func (c *Config) SourcePath() (string, bool) {
	p, ok := strings.CutPrefix(c.Bundle.Source, "file://")
	if !ok {
		return "", false
	}
	return c.Path(p), true
}
