package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const wrkSample = `Running 5s test @ http://127.0.0.1:8081/api/v/campaign/february-reminders/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.73ms    2.10ms  48.11ms   91.02%
    Req/Sec    20.61k     1.53k   23.65k    72.00%
  Latency Distribution
     50%    1.20ms
     75%    1.80ms
     90%    2.95ms
     99%   11.02ms
  205016 requests in 5.00s, 148.65MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  40989.71
Transfer/sec:     29.72MB
`

func TestParseWrk(t *testing.T) {
	r, err := ParseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 40989.71 || r.Requests != 205016 || r.Errors != 7 {
		t.Fatalf("parsed %+v", r)
	}
	if r.Latency.P50 != 1200 || r.Latency.P90 != 2950 || r.Latency.P99 != 11020 {
		t.Fatalf("latency %+v", r.Latency)
	}
	if _, err := ParseWrk("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestSummarisePercentiles(t *testing.T) {
	h := NewHistogram()
	for v := int64(1); v <= 1000; v++ {
		_ = h.RecordValue(v)
	}
	s := Summarise(h)
	// HDR keeps 3 significant digits: allow 0.1 % error.
	for _, c := range []struct{ got, want float64 }{{s.P50, 500}, {s.P90, 900}, {s.P99, 990}, {s.P999, 999}, {s.Max, 1000}} {
		if c.got < c.want*0.999 || c.got > c.want*1.001 {
			t.Fatalf("summary %+v", s)
		}
	}
}

// TestFixedRateIsOpenLoop checks the generator sends about rate×d requests
// and charges a stalled server's delay to the requests that waited.
func TestFixedRateIsOpenLoop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stall := make(chan struct{})
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		select {
		case <-stall:
		case <-time.After(100 * time.Millisecond):
		}
		ctx.SetBodyString("ok")
	}}
	go srv.Serve(ln)
	defer srv.Shutdown()
	res, err := FixedRate(context.Background(), Request{Method: "GET", URL: "http://" + ln.Addr().String() + "/"}, 100, time.Second, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 95 || res.Requests > 105 {
		t.Fatalf("sent %d requests at 100/s for 1 s", res.Requests)
	}
	// 4 connections, 100 ms per request: at most 40 req/s served, so the
	// queue grows and later requests wait far longer than 300 ms.
	if res.Latency.P99 < 1_000_000 {
		t.Fatalf("p99 %.0f µs: the generator hid the server's stall (closed loop?)", res.Latency.P99)
	}
}
