package persistence_test

import (
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
