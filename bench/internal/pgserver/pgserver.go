// Package pgserver starts and stops a throwaway PostgreSQL server for the
// benchmarks and their tests: a cluster of its own in a temporary
// directory, reached only over a unix socket there, with trust
// authentication, and thrown away (immediate stop, directory removed) when
// done.
//
// PostgreSQL refuses to run as root, so when the caller is root the server
// runs as the postgres system user (which Debian's package creates); client
// programs such as psql stay the caller's, so they can read its files.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrNotInstalled is wrapped by Bin's error when no initdb could be found
// (and none was installed): tests skip on it.
var ErrNotInstalled = errors.New("PostgreSQL is not installed (initdb not found)")

// Bin finds the directory of the server's programs: the one of initdb on
// the PATH, else the newest /usr/lib/postgresql/*/bin (where Debian puts
// them and leaves them off the PATH). When there is none and install is
// true and the caller is root, it installs Debian's postgresql package
// first, saying so through logf.
func Bin(ctx context.Context, install bool, logf func(format string, args ...any)) (string, error) {
	if d := findBin(); d != "" {
		return d, nil
	}
	if !install {
		return "", ErrNotInstalled
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w and this process is not root to install it", ErrNotInstalled)
	}
	if logf != nil {
		logf("PostgreSQL not found: apt-get install -y postgresql")
	}
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "postgresql")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get install -y postgresql: %v: %s", err, lastLine(b))
	}
	if d := findBin(); d != "" {
		return d, nil
	}
	return "", errors.New("initdb not found after installing postgresql")
}

func findBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// major is the version in /usr/lib/postgresql/<major>/bin, so that 16 sorts
// above 9.6 (which a string sort would not do).
func major(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// Server is a running throwaway cluster. Its superuser is postgres, with
// trust authentication, and its database postgres.
type Server struct {
	bin, dir string
	port     int
	stop     sync.Once
}

// Start initialises a cluster with the programs in bin (see Bin) in a new
// temporary directory and starts it on a unix socket there. The caller must
// Stop it, also when ctx ends: the server is a daemon that outlives ctx.
func Start(ctx context.Context, bin string) (*Server, error) {
	// Not under a directory of the caller's: those are often mode 0700,
	// which the postgres user could not enter.
	dir, err := os.MkdirTemp("", "dialerd-bench-pg-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, port: port}
	if err := s.start(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(s.dir, "data")
	steps := [][]string{
		// --no-sync: the cluster is thrown away, so initdb need not wait
		// for the disk; the server itself keeps its default durability.
		{filepath.Join(s.bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"},
		{filepath.Join(s.bin, "pg_ctl"), "-D", data, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60",
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=''", s.port, s.dir), "start"},
	}
	for _, st := range steps {
		cmd := asPostgres(exec.CommandContext(ctx, st[0], st[1:]...), s.dir)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", filepath.Base(st[0]), err, lastLine(b))
		}
	}
	return nil
}

// freePort draws a port for the socket's name. The server listens on no
// TCP address, so the port only has to be one PostgreSQL accepts; a free
// one keeps a stray server from another run out of the way all the same.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// asPostgres makes cmd run as the postgres user when the caller is root.
func asPostgres(cmd *exec.Cmd, dir string) *exec.Cmd {
	if os.Geteuid() == 0 {
		cmd.Args = append([]string{"runuser", "-u", "postgres", "--"}, cmd.Args...)
		cmd.Path, _ = exec.LookPath("runuser")
		if cmd.Path == "" {
			cmd.Path = "/usr/sbin/runuser"
		}
	}
	cmd.Dir = dir // the caller's working directory may be closed to that user
	return cmd
}

// Stop stops the server at once (no checkpoint: nothing in it is kept) and
// removes its directory. It may be called more than once.
func (s *Server) Stop() {
	s.stop.Do(func() {
		stop := exec.Command(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "stop")
		_ = asPostgres(stop, s.dir).Run()
		os.RemoveAll(s.dir)
	})
}

// SocketDir is the directory of the server's unix socket (libpq's host).
func (s *Server) SocketDir() string { return s.dir }

// Port is the server's port, which names its socket in SocketDir.
func (s *Server) Port() int { return s.port }

// DSN is a connection string for the postgres database as the postgres
// user, in the keyword/value form that libpq and pgx accept.
func (s *Server) DSN() string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", s.dir, s.port)
}

// Query runs one psql command (SQL or a backslash command such as \copy,
// which reads the caller's file) and returns its unaligned, tuples-only
// output.
func (s *Server) Query(ctx context.Context, sql string) (string, error) {
	psql := filepath.Join(s.bin, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
		"-h", s.dir, "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", "postgres", "-c", sql)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("psql %.40q: %v: %s", sql, err, lastLine(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// Pid is the postmaster's process id (its backends are its children).
func (s *Server) Pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}
