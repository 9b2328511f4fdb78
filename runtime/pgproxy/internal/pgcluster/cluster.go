package pgcluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// StartTimeout is how long pg_ctl waits for the server to accept
// connections, in seconds.
const StartTimeout = 120

// Options configure Start. The zero value is a TLS cluster whose
// certificate names 127.0.0.1 and localhost.
type Options struct {
	// NoTLS starts the server with ssl=off; pg_hba then accepts SCRAM over
	// plain TCP. Default false: ssl=on, hostssl scram-sha-256 only, and
	// hostnossl rejected.
	NoTLS bool
	// CertHosts are the server certificate's names (IPs become IP SANs).
	// Default 127.0.0.1 and localhost.
	CertHosts []string
}

// Cluster is a running throwaway server on 127.0.0.1.
type Cluster struct {
	// Host is always 127.0.0.1; Port is a free loopback port.
	Host string
	Port int
	// User is the superuser ("postgres"); Password its SCRAM password.
	User     string
	Password string
	// CA signed the server certificate; CAFile holds CA.PEM. Both are zero
	// with NoTLS.
	CA     *CA
	CAFile string
	// Dir holds the data directory, the server log and the certificates;
	// it is removed at cleanup.
	Dir string
	// LogFile is the server's log.
	LogFile string
}

// Addr is host:port.
func (c *Cluster) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// ConnString is a keyword/value connection string to database postgres as
// the superuser, with sslmode and (with TLS) the CA as sslrootcert.
func (c *Cluster) ConnString(sslmode string) string {
	s := fmt.Sprintf("host=%s port=%d dbname=postgres user=%s password='%s' sslmode=%s",
		c.Host, c.Port, c.User, strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(c.Password), sslmode)
	if c.CAFile != "" && sslmode != "disable" {
		s += " sslrootcert=" + c.CAFile
	}
	return s
}

// Log returns the server log so far ("" when it cannot be read).
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.LogFile)
	return string(b)
}

// Start initialises and starts a cluster, and stops it (pg_ctl stop -m
// immediate) and removes its directory in t.Cleanup. When PostgreSQL or a
// way to run it is missing it skips the test, or fails it when the CI
// environment variable is set.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bin, err := findBinDir()
	if err != nil {
		unavailable(t, "%v", err)
	}
	r, err := newRunner()
	if err != nil {
		unavailable(t, "%v", err)
	}
	dir, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		t.Fatalf("creating cluster directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &Cluster{Host: "127.0.0.1", User: "postgres", Password: "pw-" + randHex(12) + `'\ "x`,
		Dir: dir, LogFile: filepath.Join(dir, "server.log")}
	files := map[string][]byte{"pwfile": []byte(c.Password + "\n")}
	if !opts.NoTLS {
		hosts := opts.CertHosts
		if len(hosts) == 0 {
			hosts = []string{"127.0.0.1", "localhost"}
		}
		if c.CA, err = NewCA("pgcluster test CA " + randHex(4)); err != nil {
			t.Fatal(err)
		}
		crt, key, err := c.CA.Issue(hosts...)
		if err != nil {
			t.Fatal(err)
		}
		files["server.crt"], files["server.key"], files["ca.crt"] = crt, key, c.CA.PEM
		c.CAFile = filepath.Join(dir, "ca.crt")
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatalf("writing %s: %v", name, err)
		}
	}
	if err := r.own(dir); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := r.run(dir, filepath.Join(bin, "initdb"), "-D", data, "-U", c.User,
		"--auth=scram-sha-256", "--pwfile="+filepath.Join(dir, "pwfile"),
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("running initdb: %v\n%s", err, out)
	}
	if err := configure(dir, data, opts.NoTLS); err != nil {
		t.Fatal(err)
	}
	if err := r.own(dir); err != nil {
		t.Fatal(err)
	}
	ctl := filepath.Join(bin, "pg_ctl")
	var lastOut []byte
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		out, err := r.run(dir, ctl, "-D", data, "-l", c.LogFile, "-w", "-t", strconv.Itoa(StartTimeout),
			"-o", "-p "+strconv.Itoa(port), "start")
		if err == nil {
			c.Port = port
			t.Cleanup(func() {
				if out, err := r.run(dir, ctl, "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
					t.Logf("stopping pgcluster: %v\n%s", err, out)
				}
			})
			return c
		}
		lastOut = append(out, c.Log()...)
	}
	t.Fatalf("starting PostgreSQL in %s failed three times:\n%s", dir, lastOut)
	return nil
}

// configure appends the server settings and replaces pg_hba.conf.
func configure(dir, data string, noTLS bool) error {
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = '" + dir + "'",
		"password_encryption = 'scram-sha-256'",
		"max_connections = 40",
		"shared_buffers = 16MB",
		"fsync = off",
		"synchronous_commit = off",
		"full_page_writes = off",
		"log_connections = on",
	}
	hba := []string{
		"local all all scram-sha-256",
		"host all all 127.0.0.1/32 scram-sha-256",
	}
	if !noTLS {
		conf = append(conf, "ssl = on",
			"ssl_cert_file = '"+filepath.Join(dir, "server.crt")+"'",
			"ssl_key_file = '"+filepath.Join(dir, "server.key")+"'")
		hba = []string{
			"local all all scram-sha-256",
			"hostnossl all all 0.0.0.0/0 reject",
			"hostnossl all all ::/0 reject",
			"hostssl all all 127.0.0.1/32 scram-sha-256",
		}
	}
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening postgresql.conf: %w", err)
	}
	_, err = f.WriteString("\n# pgcluster\n" + strings.Join(conf, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing postgresql.conf: %w", err)
	}
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(strings.Join(hba, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing pg_hba.conf: %w", err)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("pgcluster is required in CI: "+format, args...)
	}
	t.Skipf("pgcluster unavailable: "+format, args...)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
