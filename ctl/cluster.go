package ctl

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strings"
)

func clusterCmd() *command {
	return &command{name: "cluster", summary: "membership, Raft leader and shard placement (admin tokens); --identity locates one", maxArgs: 0, setup: clusterShow,
		examples: []string{"dialerctl cluster", "dialerctl cluster --identity campaign/february-reminders"}}
}

// clusterInfo is GET /api/v/cluster/ as people read it.
type clusterInfo struct {
	Node       string   `json:"node"`
	Leader     string   `json:"leader"`
	Voters     []string `json:"voters"`
	MapVersion uint64   `json:"map_version"`
	Members    []struct {
		ID      string `json:"id"`
		HTTP    string `json:"http"`
		Actor   string `json:"actor"`
		Raft    string `json:"raft"`
		Leaving bool   `json:"leaving"`
	} `json:"members"`
	Status struct {
		Members         int    `json:"members"`
		ShardsOwned     int    `json:"shards_owned"`
		ShardsServing   int    `json:"shards_serving"`
		UnderReplicated int    `json:"under_replicated"`
		MaxLag          uint64 `json:"max_replica_lag"`
	} `json:"status"`
	Identity *struct {
		Identity    string   `json:"identity"`
		Shard       int      `json:"shard"`
		Epoch       uint64   `json:"epoch"`
		Owner       string   `json:"owner"`
		OwnerHTTP   string   `json:"owner_http"`
		Replicas    []string `json:"replicas"`
		Established bool     `json:"established"`
	} `json:"identity"`
}

func clusterShow(fs *flag.FlagSet) runFunc {
	identity := fs.String("identity", "", "where this identity lives: `kind/id` (campaign/feb, list/UUID, ...)")
	return func(ctx context.Context, x *cli, _ []string) error {
		path := "cluster/"
		if *identity != "" {
			path += "?" + url.Values{"identity": {*identity}}.Encode()
		}
		data, err := x.api.get(ctx, path, "")
		if err != nil {
			return err
		}
		c, printed, err := decodeAnswer[clusterInfo](x, data)
		if err != nil || printed {
			return err
		}
		fmt.Fprintf(x.stdout, "Node %s; leader %s; shard map version %d; voters %s.\n", c.Node, dash(c.Leader), c.MapVersion, dash(strings.Join(c.Voters, ",")))
		fmt.Fprintf(x.stdout, "This node owns %d shards, serves %d; %d under-replicated; replica lag at most %d batches.\n",
			c.Status.ShardsOwned, c.Status.ShardsServing, c.Status.UnderReplicated, c.Status.MaxLag)
		rows := make([][]string, 0, len(c.Members))
		for _, m := range c.Members {
			role := ""
			if m.ID == c.Leader {
				role = "leader"
			}
			if m.Leaving {
				role = strings.TrimSpace(role + " leaving")
			}
			rows = append(rows, []string{m.ID, dash(m.HTTP), dash(m.Actor), dash(m.Raft), dash(role)})
		}
		if err := table(x.stdout, []string{"MEMBER", "HTTP", "ACTOR", "RAFT", "ROLE"}, rows); err != nil {
			return err
		}
		if id := c.Identity; id != nil {
			fmt.Fprintf(x.stdout, "%s: shard %d, epoch %d, owner %s (%s), replicas %s, established %s.\n",
				id.Identity, id.Shard, id.Epoch, id.Owner, dash(id.OwnerHTTP), strings.Join(id.Replicas, ","), yesNo(id.Established))
		}
		return nil
	}
}
