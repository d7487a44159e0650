package main

import "testing"

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/dialerd/dialerd/actors
BenchmarkLease/list=1000000-2         	    2000	   2051234 ns/op
BenchmarkLease/list=1000000/nosync-2  	    2000	   1820000 ns/op	  12 B/op
BenchmarkDueEntries/list=1000000-2    	    2000	    210000.5 ns/op
--- FAIL: something
ok  	github.com/dialerd/dialerd/actors	61.2s
`
	got := parseGoBench(out)
	want := []hopperDialerd{
		{"BenchmarkLease/list=1000000", 2000, 2051234},
		{"BenchmarkLease/list=1000000/nosync", 2000, 1820000},
		{"BenchmarkDueEntries/list=1000000", 2000, 210000.5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
