package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/dialerd/dialerd/bench/load"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// A short run of the load driver against a real node, every op of the
// default mix (create, get, patch, status, single add, upload): each
// answers what it should, nothing fails, and the report renders.
func TestLoadSmokeAgainstANode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: benchToken})
	api := load.DialerdAPI(n.URL, benchToken)
	ds, err := load.NewDataset(load.Spec{Seed: 99, Campaigns: 8, Uploads: 2, UploadRows: 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := load.Setup(ctx, nil, api.Setup(ds), 4); err != nil {
		t.Fatal(err)
	}
	ops := api.Ops(ds)
	mix, err := load.ParseMix(load.DefaultMix, ops)
	if err != nil {
		t.Fatal(err)
	}
	res, err := load.Run(ctx, load.Config{Name: "smoke", Ops: ops, Mix: mix, Seed: 99, Concurrency: 4,
		Duration: 1500 * time.Millisecond, Progress: io.Discard, Sample: load.ProcSampler(n.Pid())})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Errors != 0 || res.Total.OK == 0 {
		t.Fatalf("smoke run: %d ok, %d errors %v\n%s", res.Total.OK, res.Total.Errors, res.Total.ErrorKinds, res.Markdown())
	}
	for _, name := range []string{load.OpCreate, load.OpGet, load.OpPatch, load.OpStatus, load.OpAdd} {
		if op := res.Op(name); op == nil || op.OK == 0 {
			t.Errorf("op %s made no successful request", name)
		}
	}
	if len(res.Samples) == 0 || res.Samples[0].RSSKB == 0 {
		t.Errorf("no server samples: %+v", res.Samples)
	}
	if md := res.Markdown(); len(md) < 100 {
		t.Errorf("markdown: %q", md)
	}
	if err := res.SVG(io.Discard); err != nil {
		t.Error(err)
	}
}
