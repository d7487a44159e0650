package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

// pebbleBatchRows is how many rows go into one synced batch.
const pebbleBatchRows = 1000

// pebbleBaseline is the ceiling for an upload on this disk: the rows of
// the file stored in Pebble, opened as persistence.Open opens it and
// committed with pebble.Sync, with the least work a prospect store could
// do — one JSON document and two index entries (by phone, by next call
// time) per row, no phone parsing, no dedupe, no replication log. Timed from
// opening the file to the last commit.
func pebbleBaseline(h *harness, path string) (time.Duration, error) {
	opts := persistence.PebbleOptions()
	opts.Logger = quietPebble{}
	db, err := pebble.Open(h.TempDir(), opts)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := dialerd.Stopwatch()
	if err := loadPebble(db, path); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func loadPebble(db *pebble.DB, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return err
	}
	names := make([]string, len(head))
	for i, h := range head {
		names[i] = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "_"))
	}
	const nextBase = 1_767_225_600 // 2026-01-01: any fixed time will do
	b := db.NewBatch()
	var key, doc []byte
	var idBuf [12]byte
	for seq := 1; ; seq++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		id := appendID(idBuf[:0], seq)
		doc = appendDoc(doc[:0], names, rec)
		key = append(append(key[:0], "p/"...), id...)
		b.Set(key, doc, nil)
		key = appendDigits(append(key[:0], "ph/"...), rec[0])
		b.Set(key, id, nil)
		key = strconv.AppendInt(append(key[:0], "next/"...), int64(nextBase+seq%86_400), 10)
		key = append(append(key, '/'), id...)
		b.Set(key, nil, nil)
		if seq%pebbleBatchRows == 0 {
			if err := b.Commit(pebble.Sync); err != nil {
				return err
			}
			b.Reset()
		}
	}
	if !b.Empty() {
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
	}
	return b.Close()
}

// appendDoc appends {"name": "value", ...} for a record.
func appendDoc(b []byte, names, rec []string) []byte {
	b = append(b, '{')
	for i, v := range rec {
		if i > 0 {
			b = append(b, ',')
		}
		if i < len(names) {
			b = appendJSONString(b, names[i])
		} else {
			b = appendJSONString(b, "col"+strconv.Itoa(i))
		}
		b = append(b, ':')
		b = appendJSONString(b, v)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(b, '"')
}

// appendID appends seq as 12 digits, zero-padded, so ids sort as numbers.
func appendID(b []byte, seq int) []byte {
	var d [12]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + seq%10)
		seq /= 10
	}
	return append(b, d[:]...)
}

func appendDigits(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			b = append(b, c)
		}
	}
	return b
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)         {}
func (quietPebble) Errorf(f string, args ...any) { fmt.Fprintf(os.Stderr, "pebble: "+f+"\n", args...) }
func (quietPebble) Fatalf(f string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+f+"\n", args...)
	os.Exit(1)
}

var _ pebble.Logger = quietPebble{}
