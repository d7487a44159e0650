package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/internal/nodetest"
)

type postgresOutcome struct {
	Version string        `json:"version,omitempty"`
	Copy    time.Duration `json:"copy_ns"`
	Rows    int           `json:"rows"`
	// Note says why the baseline did not run ("" when it did).
	Note string `json:"note,omitempty"`
}

const pgColumns = "id, phone, first_name, last_name, email, state, zip, company, plan, notes, next_call_at"

// postgresBaseline times PostgreSQL's COPY of the same rows into a table
// with the same two lookups the Pebble baseline writes (primary key, and an
// index on the next call time), through psql's \copy, which streams the
// file from the client as an upload does. A server that cannot be set up is
// a note in the section, not a failed scenario.
func postgresBaseline(ctx context.Context, h *harness, path string) postgresOutcome {
	var out postgresOutcome
	err := catch(func() error {
		bin, err := postgresBin(ctx, h)
		if err != nil {
			return err
		}
		pg, err := startPostgres(ctx, h, bin)
		if err != nil {
			return err
		}
		out.Version, _ = pg.query(ctx, "show server_version")
		if i := strings.IndexByte(out.Version, ' '); i > 0 {
			out.Version = out.Version[:i]
		}
		create := "create table prospects(id bigint primary key, phone text, first_name text, last_name text, email text, state text, zip text, company text, plan text, notes text, next_call_at timestamptz); create index on prospects(next_call_at)"
		if _, err := pg.query(ctx, create); err != nil {
			return err
		}
		// The variant file is made before the clock starts: the timed part
		// is the COPY alone.
		variant := filepath.Join(h.dir, "bench-pg.csv")
		if err := postgresCSV(path, variant); err != nil {
			return err
		}
		start := dialerd.Stopwatch()
		if _, err := pg.query(ctx, `\copy prospects(`+pgColumns+`) from '`+variant+`' csv header`); err != nil {
			return err
		}
		out.Copy = time.Since(start)
		n, err := pg.query(ctx, "select count(*) from prospects")
		if err != nil {
			return err
		}
		out.Rows, err = strconv.Atoi(n)
		return err
	})
	if err != nil {
		out.Note = err.Error()
	}
	return out
}

// postgresBin finds the server's programs: on the PATH, else where Debian
// puts them, else after installing Debian's postgresql package.
func postgresBin(ctx context.Context, h *harness) (string, error) {
	find := func() string {
		if p, err := exec.LookPath("initdb"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			return filepath.Dir(p)
		}
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d
			}
		}
		return ""
	}
	if d := find(); d != "" {
		return d, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("PostgreSQL is not installed (initdb not found) and the harness is not root to install it")
	}
	h.Logf("PostgreSQL not found: apt-get install -y postgresql")
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "postgresql")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get install -y postgresql: %v: %s", err, lastLine(b))
	}
	if d := find(); d != "" {
		return d, nil
	}
	return "", errors.New("initdb not found after installing postgresql")
}

func pgMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

type postgres struct {
	bin, sock string
	port      int
}

// startPostgres initialises a cluster in a directory of its own and starts
// it on a unix socket there. PostgreSQL refuses to run as root, so as root
// the server runs as the postgres system user; psql stays the harness's
// user, so it can read the harness's files.
func startPostgres(ctx context.Context, h *harness, bin string) (*postgres, error) {
	dir, err := os.MkdirTemp("", "dialerd-bench-pg-")
	if err != nil {
		return nil, err
	}
	pg := &postgres{bin: bin, sock: dir, port: nodetest.FreePort(h)}
	data := filepath.Join(dir, "data")
	h.Cleanup(func() {
		stop := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
		_ = asPostgres(stop, dir).Run()
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	steps := [][]string{
		{filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"},
		{filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60",
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=''", pg.port, dir), "start"},
	}
	for _, s := range steps {
		cmd := asPostgres(exec.CommandContext(ctx, s[0], s[1:]...), dir)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %v: %s", filepath.Base(s[0]), err, lastLine(b))
		}
	}
	return pg, nil
}

// asPostgres makes cmd run as the postgres user when the harness is root.
func asPostgres(cmd *exec.Cmd, dir string) *exec.Cmd {
	if os.Geteuid() == 0 {
		cmd.Args = append([]string{"runuser", "-u", "postgres", "--"}, cmd.Args...)
		cmd.Path, _ = exec.LookPath("runuser")
		if cmd.Path == "" {
			cmd.Path = "/usr/sbin/runuser"
		}
	}
	cmd.Dir = dir // the harness's working directory may be closed to that user
	return cmd
}

// query runs one psql command and returns its unaligned output.
func (pg *postgres) query(ctx context.Context, sql string) (string, error) {
	psql := filepath.Join(pg.bin, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
		"-h", pg.sock, "-p", strconv.Itoa(pg.port), "-U", "postgres", "-d", "postgres", "-c", sql)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("psql %.40q: %v: %s", sql, err, lastLine(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// postgresCSV writes the rows of the generated file with an id first and a
// next call time last, the columns of pgColumns.
func postgresCSV(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	r := csv.NewReader(bufio.NewReaderSize(in, 256<<10))
	r.ReuseRecord = true
	w := csv.NewWriter(bw)
	next := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	row := make([]string, 0, 11)
	for seq := 0; ; seq++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			out.Close()
			return err
		}
		row = append(row[:0], strconv.Itoa(seq))
		row = append(row, rec...)
		if seq == 0 {
			row[0] = "id"
			row = append(row, "next_call_at")
		} else {
			row = append(row, next.Add(time.Duration(seq%86_400)*time.Second).Format(time.RFC3339))
		}
		if err := w.Write(row); err != nil {
			out.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		out.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
