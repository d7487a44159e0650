// Package load is the engine of the load harness of issue 8: it drives a
// weighted mix of HTTP requests at a server with the fasthttp client and
// reports throughput, latency percentiles and errors per op, as JSON, a
// Markdown table and an SVG chart, with a progress line while it runs.
//
// # What it sends
//
// An Op is a name and a function that fills a *fasthttp.Request for one
// request, told which request it is (Call), so its data can be derived
// from that alone. The driver knows nothing of dialerd: DialerdOps builds
// the six ops of dialerd's API (create, get, patch and status of a
// campaign, a single prospect add, a small multipart upload), and API
// builds the same ops for any server that mirrors that API under another
// prefix, such as a net/http + PostgreSQL baseline serving
// /campaign/{slug}/; other shapes are plain Op values. A Mix
// ("get=50,status=30,patch=10,create=5,add=5") picks each request's op by
// weight from a seeded generator, so a run is reproducible.
//
// The data comes from a Dataset: campaign bodies, the fixture campaigns
// that get, patch and status read (created beforehand by Setup), valid
// US and Canadian numbers for adds that never repeat within a run, and CSV
// files of bench/prospectgen for uploads, all a function of a seed.
//
// # Closed and open loop
//
// In the closed loop (Config.Rate 0), Concurrency workers each send a
// request, wait for the answer and send the next. The load adapts to the
// server: this measures the throughput it sustains with that many clients,
// and latency is each request's own round trip. When the server stalls,
// the workers stall with it and send nothing, so the stall shows up in a
// handful of slow requests rather than in the many users it would have
// delayed: closed-loop percentiles understate the tail.
//
// In the open loop (Config.Rate > 0) requests are due on a fixed schedule,
// the n-th at start + n/Rate, whatever the server does, with up to
// Concurrency in flight. Each request's latency is measured from when it
// was due, not from when it went out, so a request that waited for a free
// connection because the server stalled is charged that wait. This corrects
// coordinated omission, the error of a load generator that politely stops
// sending while the server is slow and so never records the requests
// that would have been slow. Result.SendLag tells how late requests went
// out; requests still unsent when the window closes are counted as errors
// of kind "unsent". Use the open loop at a rate below saturation to
// describe the latency users would see; use the closed loop to find the
// saturation throughput.
//
// # What the figures mean
//
// Latencies are recorded per worker in HDR histograms (1 µs to 60 s, 3
// significant digits) and merged at the end, so recording takes no lock.
// Percentiles follow the nearest-rank definition: p99 is the smallest
// latency that at least 99 % of the successful requests did not exceed,
// reported within 0.1 % above the exact value. Only successful responses
// (the op's expected status) count in the latencies and in the throughput
// (ok/s over the whole run); failures are counted by kind: "status_NNN",
// "timeout", "connection", "unsent", "other". The per-second timeline and
// the live p99 use a coarser lock-free histogram (within 12.5 %), read
// while the workers write it.
//
// Config.Sample, called every second, lets the caller record the server's
// CPU and memory next to the load (ProcSampler reads them from /proc).
package load
