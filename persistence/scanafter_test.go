package persistence_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

func TestScanAfterAndGetMany(t *testing.T) {
	s := persistence.MustOpenStore(t)
	apply(t, s, "list/a",
		dialerd.Set("p/001", []byte("1")), dialerd.Set("p/002", []byte("2")), dialerd.Set("p/010", []byte("10")),
		dialerd.Set("p/0100", []byte("100")), dialerd.Set("ph/+1", []byte("x")), dialerd.Set("p", []byte("bare")))
	apply(t, s, "list/b", dialerd.Set("p/003", []byte("other identity")))
	keys := func(prefix, after string) []string {
		var out []string
		if err := s.ScanAfter(ctx, "list/a", prefix, after, func(k string, _ []byte) error {
			out = append(out, k)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		after string
		want  []string
	}{
		{"", []string{"p/001", "p/002", "p/010", "p/0100"}},
		{"001", []string{"p/002", "p/010", "p/0100"}},
		{"005", []string{"p/010", "p/0100"}},
		{"010", []string{"p/0100"}},
		{"0100", nil},
		{"\xff", nil},
	} {
		if got := keys("p/", c.after); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ScanAfter(p/, %q) = %q, want %q", c.after, got, c.want)
		}
	}
	got, err := s.GetMany(ctx, "list/a", []string{"p/010", "nope", "p/001", "ph/+1", "p/010", "p/003"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{[]byte("10"), nil, []byte("1"), []byte("x"), []byte("10"), nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetMany = %q, want %q", got, want)
	}
}

// A batch is sorted before it is applied; what it means must not change:
// the last write of a key wins, and a delete-all applies before the writes
// after it.
func TestBatchOrderIsKept(t *testing.T) {
	s := persistence.MustOpenStore(t)
	apply(t, s, "list/a", dialerd.Set("z", []byte("1")), dialerd.Set("a", []byte("1")), dialerd.Set("z", []byte("2")),
		dialerd.Delete("a"), dialerd.Set("m", []byte("x")), dialerd.Delete("m"), dialerd.Set("m", []byte("y")))
	for k, want := range map[string]string{"z": "2", "a": "", "m": "y"} {
		v, err := s.Get(ctx, "list/a", k)
		if err != nil || string(v) != want {
			t.Errorf("%s = %q (%v), want %q", k, v, err, want)
		}
	}
	apply(t, s, "list/a", dialerd.Set("b", []byte("old")), dialerd.DeleteAll(), dialerd.Set("c", []byte("new")))
	for k, want := range map[string]string{"z": "", "b": "", "c": "new"} {
		v, err := s.Get(ctx, "list/a", k)
		if err != nil || string(v) != want {
			t.Errorf("after delete-all: %s = %q (%v), want %q", k, v, err, want)
		}
	}
}

// ScanRanges: each range in turn, bounds half-open, ErrNextRange ends a
// range, another error stops; other identities never seen.
func TestScanRanges(t *testing.T) {
	s := persistence.MustOpenStore(t)
	apply(t, s, "list/a",
		dialerd.Set("n/a\x00001", nil), dialerd.Set("n/a\x00002", nil), dialerd.Set("n/a\x00009", nil),
		dialerd.Set("n/b\x00001", nil), dialerd.Set("n/b\x00005", nil), dialerd.Set("p/1", []byte("x")))
	apply(t, s, "list/b", dialerd.Set("n/a\x00003", nil))
	var got []string
	ranges := []dialerd.KeyRange{
		{Lower: "n/b\x00", Upper: "n/b\x00009"},    // both of b
		{Lower: "n/a\x00002", Upper: "n/a\x00009"}, // 002 only: upper excluded
		{Lower: "n/a\x00", Upper: "n/a\x01"},       // cut after the first
		{Lower: "q", Upper: "r"},                   // empty
	}
	err := s.ScanRanges(ctx, "list/a", ranges, func(i int, k string, _ []byte) error {
		got = append(got, fmt.Sprint(i, " ", k))
		if i == 2 {
			return dialerd.ErrNextRange
		}
		return nil
	})
	want := []string{"0 n/b\x00001", "0 n/b\x00005", "1 n/a\x00002", "2 n/a\x00001"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ScanRanges = %q, %v; want %q", got, err, want)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.ScanRanges(ctx, "list/a", ranges, func(int, string, []byte) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("an error from fn: %v after %d keys", err, n)
	}
}
