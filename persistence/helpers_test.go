package persistence

// Test helpers, in package persistence so that they can reach the Pebble
// handle; the black-box tests (package persistence_test) use them as
// persistence.MustOpenStore etc.

import (
	"context"
	"testing"
)

// MustOpenStore opens an in-memory Store (Options{InMemory: true}) that is
// closed when the test ends.
func MustOpenStore(tb testing.TB) *Store {
	tb.Helper()
	return MustOpen(tb, Options{InMemory: true})
}

// MustOpenDiskStore opens a Store in a fresh tb.TempDir(), synced on every
// commit like production, closed when the test ends.
func MustOpenDiskStore(tb testing.TB) *Store {
	tb.Helper()
	return MustOpen(tb, Options{Dir: tb.TempDir()})
}

// MustOpen opens a Store with opts and closes it when the test ends, unless
// the test closed it already with CloseForTest.
func MustOpen(tb testing.TB, opts Options) *Store {
	tb.Helper()
	s, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", opts, err)
	}
	tb.Cleanup(func() {
		if s.db == nil {
			return
		}
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// CloseForTest closes a store opened by MustOpen before the test ends (to
// reopen its directory) and keeps the cleanup from closing it twice.
func CloseForTest(tb testing.TB, s *Store) {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	s.db = nil
}

// FlushForTest flushes the memtable to an sstable, so that reads and range
// deletions are exercised against on-disk tables and not only the memtable.
func FlushForTest(s *Store) error { return s.db.Flush() }

// CompactForTest compacts the whole key space.
func CompactForTest(s *Store) error {
	// Every key starts with a uint16 shard < 256, so [0x00, 0x01) is all.
	return s.db.Compact(context.Background(), []byte{0}, []byte{1}, false)
}
