package load_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/dialerd/dialerd/bench/load"
)

// A run against dialerd and the same run against a baseline that serves
// the API at the root, set side by side.
func Example() {
	ctx := context.Background()
	var results []*load.Result
	for _, api := range []load.API{
		load.DialerdAPI("http://127.0.0.1:8080", "dev-admin-token"),
		{Base: "http://127.0.0.1:8090", Header: map[string]string{"Authorization": "Bearer dev-admin-token"}},
	} {
		ds, err := load.NewDataset(load.Spec{Seed: 1, Campaigns: 100})
		if err != nil {
			log.Fatal(err)
		}
		if err := load.Setup(ctx, nil, api.Setup(ds), 16); err != nil {
			log.Fatal(err)
		}
		ops := api.Ops(ds)
		mix, err := load.ParseMix("get=50,status=30,patch=10,create=5,add=5", ops)
		if err != nil {
			log.Fatal(err)
		}
		res, err := load.Run(ctx, load.Config{
			Name: api.Base, Ops: ops, Mix: mix, Seed: 1,
			Rate: 2000, Concurrency: 256, Duration: 30 * time.Second, // open loop
			Progress: os.Stderr,
			// Sample: load.ProcSampler(serverPid),
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(res.Markdown())
		f, _ := os.Create(fmt.Sprintf("load-%d.svg", len(results)))
		res.SVG(f)
		f.Close()
		results = append(results, res)
	}
	fmt.Println(load.CompareMarkdown(results[0], results[1]))
}
