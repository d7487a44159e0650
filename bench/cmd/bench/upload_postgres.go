package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dialerd/dialerd"
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
		pg, ver, err := startPostgres(ctx, h)
		if err != nil {
			return err
		}
		out.Version = ver
		create := "create table prospects(id bigint primary key, phone text, first_name text, last_name text, email text, state text, zip text, company text, plan text, notes text, next_call_at timestamptz); create index on prospects(next_call_at)"
		if _, err := pg.Query(ctx, create); err != nil {
			return err
		}
		// The variant file is made before the clock starts: the timed part
		// is the COPY alone.
		variant := filepath.Join(h.dir, "bench-pg.csv")
		if err := postgresCSV(path, variant); err != nil {
			return err
		}
		start := dialerd.Stopwatch()
		if _, err := pg.Query(ctx, `\copy prospects(`+pgColumns+`) from '`+variant+`' csv header`); err != nil {
			return err
		}
		out.Copy = time.Since(start)
		n, err := pg.Query(ctx, "select count(*) from prospects")
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
