// Package bench is the load harness: it starts real dialerd processes (and
// baseline servers), drives them over HTTP and reports throughput and
// latency percentiles side by side, into bench/RESULTS.md.
//
// Saturation throughput is measured with wrk (Debian package), which the
// harness runs as a separate process; fixed-rate latency with the open-loop
// generator in load.go, which times every request from the moment it was
// due, not from when it was sent, so a stalled server cannot hide its
// stall (coordinated omission).
//
// The upload scenario sends a CSV file of bench/prospectgen, whose known
// counts of invalid and duplicate rows the server's are checked against,
// and compares the time with raw Pebble and PostgreSQL's COPY of the same
// rows on the same disk.
package bench
