package load

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestSpread(t *testing.T) {
	node := func(host string) map[string]Op {
		return map[string]Op{
			"get":  {Name: "get", Expect: []int{200}, Build: func(req *fasthttp.Request, c Call) { req.SetRequestURI("http://" + host + "/get") }},
			"only": {Name: "only", Build: func(req *fasthttp.Request, c Call) {}},
		}
	}
	a, b, c := node("a"), node("b"), node("c")
	delete(c, "only")
	ops := Spread(a, b, c)
	if _, ok := ops["only"]; ok {
		t.Fatal("an op one node lacks was kept")
	}
	get := ops["get"]
	if len(get.Expect) != 1 || get.Expect[0] != 200 {
		t.Fatalf("Expect not kept: %v", get.Expect)
	}
	hosts := map[string]int{}
	var req fasthttp.Request
	first := map[int64]string{}
	for n := int64(0); n < 3000; n++ {
		call := Call{Worker: int(n % 4), Workers: 4, N: n / 4}
		req.Reset()
		get.Build(&req, call)
		h := string(req.Host())
		hosts[h]++
		first[call.Unique()] = h
	}
	for _, h := range []string{"a", "b", "c"} {
		if hosts[h] < 900 || hosts[h] > 1100 {
			t.Errorf("node %s got %d of 3000 requests: %v", h, hosts[h], hosts)
		}
	}
	// The same call goes to the same node: a seed replays.
	for u, h := range first {
		req.Reset()
		get.Build(&req, Call{Worker: int(u % 4), Workers: 4, N: u / 4})
		if string(req.Host()) != h {
			t.Fatalf("call %d went to %s, then to %s", u, h, req.Host())
		}
	}
	if one := Spread(a); len(one) != 2 {
		t.Errorf("one node: %d ops, want its 2", len(one))
	}
}

func TestSumSamplers(t *testing.T) {
	f := func(cpu float64, rss int64, err string) func() Sample {
		return func() Sample { return Sample{CPUPercent: cpu, RSSKB: rss, Err: err} }
	}
	s := SumSamplers(f(50, 100, ""), f(70, 200, ""))()
	if s.CPUPercent != 120 || s.RSSKB != 300 || s.Err != "" {
		t.Errorf("sum = %+v", s)
	}
	if s := SumSamplers(f(50, 100, ""), f(0, 0, "gone"))(); s.Err != "gone" {
		t.Errorf("an error is lost: %+v", s)
	}
}
