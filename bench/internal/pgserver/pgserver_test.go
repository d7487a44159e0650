package pgserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartQueryStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := Bin(ctx, false, t.Logf)
	if errors.Is(err, ErrNotInstalled) {
		t.Skip("PostgreSQL is not installed (no initdb on the PATH or under /usr/lib/postgresql/*/bin): apt-get install -y postgresql to run this test")
	} else if err != nil {
		t.Fatal(err)
	}
	s, err := Start(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	sock := filepath.Join(s.SocketDir(), ".s.PGSQL."+strconv.Itoa(s.Port()))
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("no socket where DSN points: %v", err)
	}
	if !strings.Contains(s.DSN(), "host="+s.SocketDir()) || !strings.Contains(s.DSN(), "port="+strconv.Itoa(s.Port())) {
		t.Errorf("DSN %q does not name the socket", s.DSN())
	}
	got, err := s.Query(ctx, "create table t(n int); insert into t select generate_series(1, 3); select sum(n) from t")
	if err != nil {
		t.Fatal(err)
	}
	if got != "6" {
		t.Errorf("sum = %q, want 6", got)
	}
	if _, err := s.Query(ctx, "select * from nowhere"); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("a failing statement gave %v, want psql's error", err)
	}

	s.Stop()
	s.Stop() // a second Stop is harmless
	if _, err := os.Stat(s.SocketDir()); !os.IsNotExist(err) {
		t.Errorf("directory left after Stop: %v", err)
	}
	if _, err := s.Query(ctx, "select 1"); err == nil {
		t.Error("server still answers after Stop")
	}
}

func TestMajorSortsNumerically(t *testing.T) {
	if major("/usr/lib/postgresql/16/bin") <= major("/usr/lib/postgresql/9/bin") {
		t.Error("16 does not sort above 9")
	}
}
