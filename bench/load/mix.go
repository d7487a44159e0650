package load

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Op is one kind of request the driver sends.
type Op struct {
	Name string
	// Build fills req (already reset) for one request: method, URI,
	// headers, body. It is called from many goroutines at once, so it
	// must only read shared state.
	Build func(req *fasthttp.Request, c Call)
	// Expect lists the status codes that count as success; empty means
	// any 2xx. Anything else is an error of kind "status_NNN".
	Expect []int
}

// ok reports whether status is a success for op.
func (op *Op) ok(status int) bool {
	if len(op.Expect) == 0 {
		return status >= 200 && status < 300
	}
	for _, s := range op.Expect {
		if s == status {
			return true
		}
	}
	return false
}

// Call identifies one request of a run, so that builders can derive its
// data deterministically: the N-th request (from 0) of worker Worker of
// Workers. In the open loop there is one schedule: Worker is 0, Workers 1
// and N the request's place in the schedule.
type Call struct {
	Worker, Workers int
	N               int64
}

// Unique numbers the requests of a run densely and without repeats, so
// data that must not repeat (campaign names, phone numbers) can be drawn
// by it.
func (c Call) Unique() int64 { return c.N*int64(c.Workers) + int64(c.Worker) }

// Mix is a weighted choice of ops.
type Mix struct {
	Names   []string // in the order of the spec
	Weights []int
	cum     []int // cumulative weights, for Pick
}

// ParseMix reads a spec such as "get=50,status=30,patch=10,create=5,add=5":
// op names of ops with positive integer weights. Weights are relative;
// they need not add up to 100.
func ParseMix(spec string, ops map[string]Op) (Mix, error) {
	var m Mix
	if strings.TrimSpace(spec) == "" {
		return m, errors.New("mix: empty spec; want name=weight,… e.g. " + DefaultMix)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		name, w, ok := strings.Cut(part, "=")
		name, w = strings.TrimSpace(name), strings.TrimSpace(w)
		switch {
		case part == "":
			return Mix{}, fmt.Errorf("mix %q: empty entry", spec)
		case !ok || name == "":
			return Mix{}, fmt.Errorf("mix %q: entry %q is not name=weight", spec, part)
		case seen[name]:
			return Mix{}, fmt.Errorf("mix %q: %s given twice", spec, name)
		}
		if _, known := ops[name]; !known {
			return Mix{}, fmt.Errorf("mix %q: unknown op %q (known: %s)", spec, name, strings.Join(opNames(ops), ", "))
		}
		n, err := strconv.Atoi(w)
		if err != nil {
			return Mix{}, fmt.Errorf("mix %q: weight of %s: %q is not an integer", spec, name, w)
		}
		if n <= 0 {
			return Mix{}, fmt.Errorf("mix %q: weight of %s is %d; weights must be > 0 (leave the op out instead)", spec, name, n)
		}
		seen[name] = true
		m.Names = append(m.Names, name)
		m.Weights = append(m.Weights, n)
	}
	m.init()
	return m, nil
}

func (m *Mix) init() {
	m.cum = make([]int, len(m.Weights))
	total := 0
	for i, w := range m.Weights {
		total += w
		m.cum[i] = total
	}
}

// Pick draws the index of an op in m.Names with probability its weight
// over the total.
func (m *Mix) Pick(r *rand.Rand) int {
	x := r.IntN(m.cum[len(m.cum)-1])
	// The first cumulative weight above x: weight w owns w values of x.
	return sort.SearchInts(m.cum, x+1)
}

// String is the spec of m, as ParseMix reads it.
func (m Mix) String() string {
	parts := make([]string, len(m.Names))
	for i := range m.Names {
		parts[i] = m.Names[i] + "=" + strconv.Itoa(m.Weights[i])
	}
	return strings.Join(parts, ",")
}

func opNames(ops map[string]Op) []string {
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
