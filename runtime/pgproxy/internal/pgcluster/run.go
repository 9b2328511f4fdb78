package pgcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// BinGlob finds the PostgreSQL server binaries; the highest major version wins.
const BinGlob = "/usr/lib/postgresql/*/bin"

func findBinDir() (string, error) {
	dirs, _ := filepath.Glob(BinGlob)
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no initdb, pg_ctl and postgres under %s", BinGlob)
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// runner runs the PostgreSQL programs, which refuse to run as root: as root
// it switches to the postgres OS user with runuser or su.
type runner struct {
	wrap     func(argv []string) []string // nil: run directly
	uid, gid int                          // owner of the cluster's files; -1: leave
}

func newRunner() (*runner, error) {
	if os.Geteuid() != 0 {
		return &runner{uid: -1, gid: -1}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and there is no postgres OS user to run initdb as: %w", err)
	}
	r := &runner{}
	r.uid, _ = strconv.Atoi(u.Uid)
	r.gid, _ = strconv.Atoi(u.Gid)
	if p, err := exec.LookPath("runuser"); err == nil {
		r.wrap = func(argv []string) []string { return append([]string{p, "-u", "postgres", "--"}, argv...) }
		return r, nil
	}
	if p, err := exec.LookPath("su"); err == nil {
		r.wrap = func(argv []string) []string {
			q := make([]string, len(argv))
			for i, a := range argv {
				q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
			}
			return []string{p, "postgres", "-s", "/bin/sh", "-c", strings.Join(q, " ")}
		}
		return r, nil
	}
	return nil, errors.New("running as root and neither runuser nor su is available to switch to the postgres user")
}

// run runs argv in dir and returns its combined output.
func (r *runner) run(dir string, argv ...string) ([]byte, error) {
	if r.wrap != nil {
		argv = r.wrap(argv)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("running %s: %w", filepath.Base(argv[0]), err)
	}
	return out, nil
}

// own gives the tree under dir to the postgres user (as root).
func (r *runner) own(dir string) error {
	if r.uid < 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, r.uid, r.gid); err != nil {
			return fmt.Errorf("giving %s to the postgres user: %w", p, err)
		}
		return nil
	})
}
