package ctl

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"
)

func agentsCmd() *command {
	return &command{name: "agents", aliases: []string{"agent"}, summary: "agents' seat pools: show one, create or resize one",
		subs: []*command{
			{name: "get", args: "ID", summary: "an agent's seats: each one's state and what it is doing", minArgs: 1, maxArgs: 1, setup: agentsGet,
				examples: []string{"dialerctl agents get team-a"}},
			{name: "put", args: "ID", summary: "create or resize an agent's pool (-f FILE, or --seats and --workspace)", minArgs: 1, maxArgs: 1, setup: agentsPut,
				long:     "The body is -f FILE (a JSON object, - for standard input: {\"workspace\": \"ws_001\", \"seats\": 10}),\nwith --seats and --workspace overriding it. Seats kept keep their state.",
				examples: []string{"dialerctl agents put team-a --workspace ws_001 --seats 10", "dialerctl agents put team-a -f agent.json"}},
		}}
}

func seatsCmd() *command {
	return &command{name: "seats", aliases: []string{"seat"}, summary: "set a seat's state (human teams)",
		subs: []*command{
			{name: "set", args: "AGENT SEAT", summary: "set a seat available, paused or offline", minArgs: 2, maxArgs: 2, setup: seatsSet,
				examples: []string{"dialerctl seats set team-a 3 --state paused"}},
		}}
}

func agentWhat(id string) string { return fmt.Sprintf("agent %q", id) }

func agentPath(id string) string { return "agent/" + seg(id) + "/" }

// agentView is GET /agent/{id}/: the pool, each seat's activity, and the
// campaign holding it.
type agentView struct {
	ID        string  `json:"agent_id"`
	Workspace *string `json:"workspace"`
	Campaign  string  `json:"campaign"`
	Seats     []struct {
		Seat     int    `json:"seat"`
		State    string `json:"state"`
		Activity string `json:"activity"`
	} `json:"seats"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (x *cli) showAgent(data []byte) error {
	a, printed, err := decodeAnswer[agentView](x, data)
	if err != nil || printed {
		return err
	}
	byState := map[string]int{}
	for _, s := range a.Seats {
		byState[s.State]++
	}
	fmt.Fprintf(x.stdout, "Agent %s, workspace %s, %d seats (available %d, paused %d, offline %d), dialing for %s.\n",
		a.ID, deref(a.Workspace), len(a.Seats), byState["available"], byState["paused"], byState["offline"], orElse(a.Campaign, "no campaign"))
	rows := make([][]string, 0, len(a.Seats))
	for _, s := range a.Seats {
		rows = append(rows, []string{strconv.Itoa(s.Seat), s.State, dash(s.Activity)})
	}
	if len(rows) == 0 {
		return nil
	}
	return table(x.stdout, []string{"SEAT", "STATE", "ACTIVITY"}, rows)
}

func agentsGet(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		data, err := x.api.get(ctx, agentPath(args[0]), agentWhat(args[0]))
		if err != nil {
			return err
		}
		return x.showAgent(data)
	}
}

func agentsPut(fs *flag.FlagSet) runFunc {
	file := fs.String("f", "", "the body, a JSON object (`FILE`; - reads standard input)")
	seats := fs.Int("seats", -1, "how many seats the pool has")
	ws := fs.String("workspace", "", "the workspace the agent belongs to")
	return func(ctx context.Context, x *cli, args []string) error {
		body := map[string]any{}
		if *file != "" {
			obj, err := readObjectFile(x, *file)
			if err != nil {
				return err
			}
			for k, v := range obj {
				body[k] = v
			}
		}
		if *seats >= 0 {
			body["seats"] = *seats
		}
		if *ws != "" {
			body["workspace"] = *ws
		}
		if len(body) == 0 {
			return usagef(x.path, "give -f FILE or --seats N (and --workspace W)")
		}
		data, err := x.api.sendJSON(ctx, "PUT", agentPath(args[0]), marshal(body), "")
		if err != nil {
			return err
		}
		return x.showAgent(data)
	}
}

func seatsSet(fs *flag.FlagSet) runFunc {
	state := fs.String("state", "", "available, paused or offline (required)")
	return func(ctx context.Context, x *cli, args []string) error {
		if *state == "" {
			return usagef(x.path, "--state is required: available, paused or offline")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return usagef(x.path, "SEAT is a seat number (1, 2, ...), not %q", args[1])
		}
		data, err := x.api.sendJSON(ctx, "PATCH", agentPath(args[0])+"seat/"+strconv.Itoa(n)+"/", marshal(map[string]string{"state": *state}),
			fmt.Sprintf("seat %d of agent %q", n, args[0]))
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		fmt.Fprintf(x.stdout, "Seat %d of agent %s is %s.\n", n, args[0], *state)
		return nil
	}
}
