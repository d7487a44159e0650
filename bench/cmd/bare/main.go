// Command bare is the ceiling of the HTTP stack: a fasthttp handler that
// answers fixed JSON bodies of given sizes, nothing else.
package main

import (
	"bytes"
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func body(n int) []byte {
	if n < 12 {
		n = 12
	}
	return append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), n-10)...), '"', '}')
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	getSize := flag.Int("get-size", 640, "size of the /get answer")
	statusSize := flag.Int("status-size", 400, "size of the /status answer")
	flag.Parse()
	get, status := body(*getSize), body(*statusSize)
	h := func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		if bytes.HasPrefix(ctx.Path(), []byte("/status")) {
			ctx.SetBody(status)
			return
		}
		ctx.SetBody(get)
	}
	s := &fasthttp.Server{Handler: h, Name: "dialerd", NoDefaultDate: true}
	log.Fatal(s.ListenAndServe(*addr))
}
