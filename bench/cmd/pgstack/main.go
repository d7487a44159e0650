// Command pgstack serves bench/pgstack — the net/http + PostgreSQL stack the
// benchmarks compare dialerd with — as its own process, so that its CPU and
// memory are measured apart from the load generator's, as dialerd's are.
//
//	pgstack -dsn 'host=/tmp/x port=5432 user=postgres dbname=postgres' [-addr 127.0.0.1:0]
//
// It prints "listening on ADDR" once it accepts connections, and serves
// until it is killed. The schema must exist (pgstack.Schema).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dialerd/dialerd/bench/pgstack"
)

func main() {
	dsn := flag.String("dsn", "", "PostgreSQL connection string (pgx's pool options allowed)")
	addr := flag.String("addr", "127.0.0.1:0", "HTTP listen address")
	flag.Parse()
	pool, err := pgxpool.New(context.Background(), *dsn)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", ln.Addr())
	log.Fatal((&http.Server{Handler: http.StripPrefix("/api/v", pgstack.NewHandler(pool))}).Serve(ln))
}
