package ctl

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/dialerd/dialerd"
)

func tokensCmd() *command {
	return &command{name: "tokens", aliases: []string{"token"}, summary: "API tokens (admin tokens only): list, create, get, delete",
		subs: []*command{
			{name: "list", aliases: []string{"ls"}, summary: "list the tokens (never their secrets)", maxArgs: 0, setup: tokensList,
				examples: []string{"dialerctl tokens list"}},
			{name: "create", summary: "mint a token scoped to workspaces, or an admin one; the secret is shown once", maxArgs: 0, setup: tokensCreate,
				examples: []string{"dialerctl tokens create --name ops --workspace ws_001", "dialerctl tokens create --name root --admin --json"}},
			{name: "get", args: "ID", summary: "show a token", minArgs: 1, maxArgs: 1, setup: tokensGet,
				examples: []string{"dialerctl tokens get tok_…"}},
			{name: "delete", aliases: []string{"rm", "revoke"}, args: "ID", summary: "revoke a token", minArgs: 1, maxArgs: 1, setup: tokensDelete,
				examples: []string{"dialerctl tokens delete tok_…"}},
		}}
}

func tokenWhat(id string) string { return fmt.Sprintf("token %q", id) }

func tokensList(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, _ []string) error {
		ts, printed, err := getMany[dialerd.Token](ctx, x, "token/")
		if err != nil || printed {
			return err
		}
		if len(ts) == 0 {
			fmt.Fprintln(x.stderr, "No tokens (the bootstrap token is not stored).")
			return nil
		}
		rows := make([][]string, 0, len(ts))
		for _, t := range ts {
			scope := strings.Join(t.Workspaces, ",")
			if t.Admin {
				scope = "admin (all)"
			}
			rows = append(rows, []string{t.ID, dash(t.Name), scope, when(t.CreatedAt)})
		}
		return table(x.stdout, []string{"ID", "NAME", "WORKSPACES", "CREATED"}, rows)
	}
}

func tokensCreate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "what the token is for")
	var ws stringList
	fs.Var(&ws, "workspace", "a `workspace` the token covers (repeat)")
	admin := fs.Bool("admin", false, "an admin token: every workspace, and tokens")
	return func(ctx context.Context, x *cli, _ []string) error {
		if len(ws) == 0 && !*admin {
			return usagef(x.path, "give --workspace W (repeat for more) or --admin")
		}
		body := map[string]any{"name": *name, "workspaces": append([]string{}, ws...), "admin": *admin}
		data, err := x.api.sendJSON(ctx, "POST", "token/", marshal(body), "")
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		var t struct {
			dialerd.Token
			Secret string `json:"token"`
		}
		if err := decode(data, &t); err != nil {
			return err
		}
		fmt.Fprintf(x.stdout, "id     %s\ntoken  %s\n", t.ID, t.Secret)
		fmt.Fprintln(x.stderr, "The token is shown once: store it now.")
		return nil
	}
}

func tokensGet(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		data, err := x.api.get(ctx, "token/"+seg(args[0])+"/", tokenWhat(args[0]))
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		return printObject(x.stdout, data)
	}
}

func tokensDelete(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		if _, err := x.api.send(ctx, call{method: "DELETE", path: "token/" + seg(args[0]) + "/", what: tokenWhat(args[0])}); err != nil {
			return err
		}
		if !x.g.json {
			fmt.Fprintf(x.stdout, "Revoked token %s.\n", args[0])
		}
		return nil
	}
}
