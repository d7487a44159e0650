package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func testOps(names ...string) map[string]Op {
	ops := map[string]Op{}
	for _, n := range names {
		ops[n] = Op{Name: n, Build: func(*fasthttp.Request, Call) {}}
	}
	return ops
}

func TestParseMix(t *testing.T) {
	ops := testOps("get", "status", "patch", "create", "add", "upload")
	m, err := ParseMix(" get=50, status=30,patch=10 ,create = 5,add=5", ops)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Names, []string{"get", "status", "patch", "create", "add"}) || !slices.Equal(m.Weights, []int{50, 30, 10, 5, 5}) {
		t.Fatalf("parsed %v %v", m.Names, m.Weights)
	}
	if s := m.String(); s != "get=50,status=30,patch=10,create=5,add=5" {
		t.Fatalf("String() = %q", s)
	}
	if _, err := ParseMix(DefaultMix, DialerdOps("http://x", "t", nil)); err != nil {
		t.Fatalf("DefaultMix against DialerdOps: %v", err)
	}

	for _, c := range []struct{ spec, want string }{
		{"", "empty spec"},
		{"   ", "empty spec"},
		{"get=50,bogus=1", `unknown op "bogus" (known: add, create, get, patch, status, upload)`},
		{"get=0", "weight of get is 0; weights must be > 0"},
		{"get=50,status=-3", "weight of status is -3"},
		{"get=1.5", `"1.5" is not an integer`},
		{"get=", `"" is not an integer`},
		{"get", `entry "get" is not name=weight`},
		{"=5", `entry "=5" is not name=weight`},
		{"get=1,,status=2", "empty entry"},
		{"get=1,", "empty entry"},
		{"get=1,get=2", "get given twice"},
	} {
		_, err := ParseMix(c.spec, ops)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseMix(%q) = %v, want an error with %q", c.spec, err, c.want)
		}
	}
}

// TestMixFrequencies draws 100k ops and checks each op's share against its
// weight within 4.5 standard deviations of the binomial (a false alarm
// about once in 150,000 runs; the seed is fixed anyway).
func TestMixFrequencies(t *testing.T) {
	ops := testOps("get", "status", "patch", "create", "add", "upload")
	m, err := ParseMix("get=50,status=30,patch=10,create=5,add=4,upload=1", ops)
	if err != nil {
		t.Fatal(err)
	}
	const draws = 100_000
	counts := make([]int, len(m.Names))
	r := rand.New(rand.NewPCG(42, 0))
	for range draws {
		counts[m.Pick(r)]++
	}
	for i, name := range m.Names {
		p := float64(m.Weights[i]) / 100
		want := p * draws
		sd := math.Sqrt(draws * p * (1 - p))
		if d := math.Abs(float64(counts[i]) - want); d > 4.5*sd {
			t.Errorf("%s: %d of %d draws, want %.0f ± %.0f", name, counts[i], draws, want, 4.5*sd)
		}
	}

	// The same seed draws the same ops: a run's sequence is reproducible.
	a, b := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
	for i := range 1000 {
		if x, y := m.Pick(a), m.Pick(b); x != y {
			t.Fatalf("draw %d: %d then %d with the same seed", i, x, y)
		}
	}
}

func TestMixSingleOp(t *testing.T) {
	m, err := ParseMix("get=3", testOps("get", "status"))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 100 {
		if m.Pick(r) != 0 {
			t.Fatal("a one-op mix picked something else")
		}
	}
}
