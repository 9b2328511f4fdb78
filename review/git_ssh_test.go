package review

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// startSSHD runs OpenSSH's sshd on a loopback port with a throwaway host
// key, accepting the public key of clientKey for the current user, and
// points go-git's known_hosts at its host key. It returns the port.
func startSSHD(t *testing.T, clientKey string) int {
	t.Helper()
	bin, err := exec.LookPath("sshd")
	if err != nil {
		bin = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sshd not installed (.ci/run installs openssh-server)")
		}
		t.Skip("sshd not installed (apt-get install openssh-server)")
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
			t.Skipf("sshd needs /run/sshd: %v", err)
		}
	}
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "host_ed25519")
	hostPub := gitKey(t, hostKey)
	clientPub := gitKey(t, clientKey)
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := filepath.Join(dir, "sshd_config")
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
LogLevel ERROR
`, port, hostKey, authorized, filepath.Join(dir, "sshd.pid"))
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The test owns sshd: it is killed and reaped when the test ends.
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	known := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(hostPub))
	if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_KNOWN_HOSTS", known)
	return port
}

// TestPushSSHKey pushes over SSH with a private key to a bare repository
// served by a real OpenSSH server (git-receive-pack over ssh).
func TestPushSSHKey(t *testing.T) {
	_, pdir, _ := policyRepo(t, ".", map[string]string{"roles.hcl": "role \"r\" {}\n"})
	key := filepath.Join(t.TempDir(), "id_ed25519")
	port := startSSHD(t, key)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "policy.git")
	gitCmd(t, filepath.Dir(bare), "init", "-q", "--bare", bare)

	o := GitOptions{Dir: pdir, Remote: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", me.Username, port, bare), SSHKey: key}
	c, err := Commit(o, "recert/r-2026-11-26", "m\n", map[string][]byte{"reviews/r.md": []byte("r\n")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Push(context.Background(), o, c.Branch); err != nil {
		t.Fatal(err)
	}
	if got := gitCmd(t, bare, "rev-parse", "recert/r-2026-11-26"); got != c.Commit {
		t.Errorf("remote branch at %s, want %s", got, c.Commit)
	}
	// Another key is refused.
	o.SSHKey = filepath.Join(t.TempDir(), "other")
	gitKey(t, o.SSHKey)
	if err := Push(context.Background(), o, c.Branch); err == nil {
		t.Error("push with an unauthorized key succeeded")
	}
}
