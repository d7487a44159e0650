package persistence_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

// BenchmarkApplySmall: the typical grain write, one document and two index
// entries in one batch, on disk, with and without fsync.
func BenchmarkApplySmall(b *testing.B) {
	for _, noSync := range []bool{true, false} {
		name := "Sync"
		if noSync {
			name = "NoSync"
		}
		b.Run(name, func(b *testing.B) {
			s := persistence.MustOpen(b, persistence.Options{Dir: b.TempDir(), NoSync: noSync})
			const n = 1000
			ids := make([]string, n)
			batches := make([][]dialerd.Op, n)
			doc := bytes.Repeat([]byte("x"), 200)
			for i := range n {
				slug := fmt.Sprintf("c%04d", i)
				ids[i] = "campaign/" + slug
				batches[i] = []dialerd.Op{
					dialerd.Set("doc", doc),
					dialerd.IndexSet("campaign.all", slug, nil),
					dialerd.IndexSet("campaign.ws", fmt.Sprintf("ws%d\x00%s", i%10, slug), nil),
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Apply(ctx, ids[i%n], batches[i%n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkGet reads one small document among 10k identities, from
// sstables (flushed) and from the memtable.
func BenchmarkGet(b *testing.B) {
	for _, flush := range []bool{true, false} {
		name := "memtable"
		if flush {
			name = "flushed"
		}
		b.Run(name, func(b *testing.B) {
			s := persistence.MustOpen(b, persistence.Options{Dir: b.TempDir(), NoSync: true})
			const n = 10000
			ids := make([]string, n)
			doc := bytes.Repeat([]byte("x"), 200)
			for i := range n {
				ids[i] = fmt.Sprintf("campaign/c%05d", i)
				if err := s.Apply(ctx, ids[i], []dialerd.Op{dialerd.Set("doc", doc)}); err != nil {
					b.Fatal(err)
				}
			}
			if flush {
				if err := persistence.FlushForTest(s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v, err := s.Get(ctx, ids[(i*7919)%n], "doc")
				if err != nil || len(v) != len(doc) {
					b.Fatalf("Get = (%d bytes, %v)", len(v), err)
				}
				i++
			}
		})
	}
}

// BenchmarkScan100 scans the 100 keys of one identity, among neighbours
// with data of their own.
func BenchmarkScan100(b *testing.B) {
	s := persistence.MustOpen(b, persistence.Options{Dir: b.TempDir(), NoSync: true})
	val := bytes.Repeat([]byte("v"), 100)
	for id := range 50 {
		var ops []dialerd.Op
		for k := range 100 {
			ops = append(ops, dialerd.Set(fmt.Sprintf("call/%03d", k), val))
		}
		if err := s.Apply(ctx, fmt.Sprintf("campaign/c%02d", id), ops); err != nil {
			b.Fatal(err)
		}
	}
	if err := persistence.FlushForTest(s); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := s.Scan(ctx, "campaign/c07", "call/", func(string, []byte) error { n++; return nil })
		if err != nil || n != 100 {
			b.Fatalf("Scan = (%d keys, %v), want 100", n, err)
		}
	}
}

// BenchmarkScanIndex reads an index of 1000 entries: one iterator per
// shard, 256 in all.
func BenchmarkScanIndex(b *testing.B) {
	s := persistence.MustOpen(b, persistence.Options{Dir: b.TempDir(), NoSync: true})
	for i := range 1000 {
		slug := fmt.Sprintf("c%04d", i)
		if err := s.Apply(ctx, "campaign/"+slug, []dialerd.Op{dialerd.IndexSet("campaign.all", slug, nil)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := persistence.FlushForTest(s); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := s.ScanIndex(ctx, "campaign.all", "", func(string, []byte) error { n++; return nil })
		if err != nil || n != 1000 {
			b.Fatalf("ScanIndex = (%d entries, %v), want 1000", n, err)
		}
	}
}
