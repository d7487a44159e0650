package ctl

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/dialerd/dialerd"
)

func dncCmd() *command {
	return &command{name: "dnc", summary: "the do-not-call list of a workspace: add, list, get, delete, upload",
		long: "dialerctl dnc: the do-not-call list of a workspace. Commands act on the workspace --workspace\nnames, else on the token's only workspace (an admin token naming none: campaigns without one).",
		subs: []*command{
			{name: "add", args: "NUMBER...", summary: "put numbers on the list", minArgs: 1, maxArgs: -1, setup: dncAdd,
				examples: []string{"dialerctl dnc add '+1 212 555 0100' 2125550101 --reason 'asked us to stop'"}},
			{name: "list", aliases: []string{"ls"}, summary: "a page of the list, in number order", maxArgs: 0, setup: dncList,
				examples: []string{"dialerctl dnc list --workspace ws_001 --limit 50"}},
			{name: "get", args: "NUMBER", summary: "whether a number is on the list, and why", minArgs: 1, maxArgs: 1, setup: dncGet,
				examples: []string{"dialerctl dnc get 212-555-0100"}},
			{name: "delete", aliases: []string{"rm"}, args: "NUMBER", summary: "take a number off the list", minArgs: 1, maxArgs: 1, setup: dncDelete,
				examples: []string{"dialerctl dnc delete +12125550100"}},
			{name: "upload", args: "FILE", summary: "add every number of a CSV file (a phone column), with progress", minArgs: 1, maxArgs: 1, setup: dncUpload,
				examples: []string{"dialerctl dnc upload complaints.csv --reason complaint"}},
		}}
}

// dncQuery is ?workspace= when one is named.
func dncQuery(ws string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if ws != "" {
		q.Set("workspace", ws)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// dncBatch is the most numbers one POST /dnc/ takes.
const dncBatch = 1000

func dncAdd(fs *flag.FlagSet) runFunc {
	reason := fs.String("reason", "", "why the numbers are listed")
	ws := fs.String("workspace", "", "the workspace whose list it is")
	return func(ctx context.Context, x *cli, args []string) error {
		var added, already int
		var last []byte
		for i := 0; i < len(args); i += dncBatch {
			batch := args[i:min(i+dncBatch, len(args))]
			body := map[string]any{"phone_numbers": batch}
			if *reason != "" {
				body["reason"] = *reason
			}
			if *ws != "" {
				body["workspace"] = *ws
			}
			data, err := x.api.sendJSON(ctx, "POST", "dnc/", marshal(body), "")
			if err != nil {
				if added+already > 0 {
					fmt.Fprintf(x.stderr, "The %d numbers before this batch are on the list.\n", added+already)
				}
				return err
			}
			var rep struct{ Added, Already int }
			if err := decode(data, &rep); err != nil {
				return err
			}
			added, already, last = added+rep.Added, already+rep.Already, data
		}
		if x.g.json {
			if len(args) > dncBatch {
				return x.printJSON(marshal(map[string]int{"added": added, "already": already}))
			}
			return x.printJSON(last)
		}
		fmt.Fprintf(x.stdout, "Added %d numbers to the do-not-call list (%d were on it already).\n", added, already)
		return nil
	}
}

func dncList(fs *flag.FlagSet) runFunc {
	ws := fs.String("workspace", "", "the workspace whose list it is")
	limit := fs.Int("limit", 100, "entries per page, 1-1000")
	cursor := fs.String("cursor", "", "where the page starts (the next_cursor of the previous one)")
	return func(ctx context.Context, x *cli, _ []string) error {
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *cursor != "" {
			q.Set("cursor", *cursor)
		}
		data, err := x.api.get(ctx, "dnc/"+dncQuery(*ws, q), "")
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		var page struct {
			Count   int64              `json:"count"`
			Results []dialerd.DNCEntry `json:"results"`
			Next    string             `json:"next_cursor"`
		}
		if err := decode(data, &page); err != nil {
			return err
		}
		fmt.Fprintf(x.stderr, "%s numbers on the list.\n", count(page.Count))
		rows := make([][]string, 0, len(page.Results))
		for _, e := range page.Results {
			rows = append(rows, []string{e.Number, e.Source, dash(e.Reason), dash(e.Campaign), when(e.AddedAt)})
		}
		if len(rows) > 0 {
			if err := table(x.stdout, []string{"NUMBER", "SOURCE", "REASON", "CAMPAIGN", "ADDED"}, rows); err != nil {
				return err
			}
		}
		moreHint(x, page.Next)
		return nil
	}
}

func dncWhat(n string) string { return fmt.Sprintf("number %q on the do-not-call list", n) }

func dncGet(fs *flag.FlagSet) runFunc {
	ws := fs.String("workspace", "", "the workspace whose list it is")
	return func(ctx context.Context, x *cli, args []string) error {
		data, err := x.api.get(ctx, "dnc/"+seg(args[0])+"/"+dncQuery(*ws, nil), dncWhat(args[0]))
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		return printObject(x.stdout, data)
	}
}

func dncDelete(fs *flag.FlagSet) runFunc {
	ws := fs.String("workspace", "", "the workspace whose list it is")
	return func(ctx context.Context, x *cli, args []string) error {
		if _, err := x.api.send(ctx, call{method: "DELETE", path: "dnc/" + seg(args[0]) + "/" + dncQuery(*ws, nil), what: dncWhat(args[0])}); err != nil {
			return err
		}
		if !x.g.json {
			fmt.Fprintf(x.stdout, "Took %s off the do-not-call list.\n", args[0])
		}
		return nil
	}
}

func dncUpload(fs *flag.FlagSet) runFunc {
	reason := fs.String("reason", "", "why the numbers are listed")
	ws := fs.String("workspace", "", "the workspace whose list it is")
	quiet := fs.Bool("quiet", false, "draw no progress")
	nerr := fs.Int("errors", 10, "row errors the summary shows")
	return func(ctx context.Context, x *cli, args []string) error {
		f, err := os.Open(args[0])
		if err != nil {
			return usagef(x.path, "%v", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return usagef(x.path, "%s is not a regular file", args[0])
		}
		q := url.Values{}
		if *reason != "" {
			q.Set("reason", *reason)
		}
		cr := &countingReader{r: f}
		p := x.newProgress(*quiet)
		// The node adds the numbers as the file arrives and answers once all
		// are listed: the bytes sent are the progress.
		data, err := x.sendWatched(ctx, p, call{method: "POST", path: "dnc/upload/" + dncQuery(*ws, q), body: cr, size: st.Size(), ctype: "text/csv", long: true}, cr, st.Size())
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		var res struct {
			Rows, Numbers, Invalid, Added, Already int
			Errors                                 []dialerd.UploadRowError
		}
		if err := decode(data, &res); err != nil {
			return err
		}
		fmt.Fprintf(x.stdout, "Do-not-call file %s: %s rows, %s numbers (%s added, %s already listed), %s invalid.\n",
			args[0], count(res.Rows), count(res.Numbers), count(res.Added), count(res.Already), count(res.Invalid))
		if len(res.Errors) > 0 && *nerr > 0 {
			shown := res.Errors[:min(len(res.Errors), *nerr)]
			fmt.Fprintf(x.stdout, "First row errors (%d of %s):\n", len(shown), count(res.Invalid))
			tw := newTable(x.stdout)
			fmt.Fprintf(tw, "  ROW\tLINE\tCOLUMN\tREASON\n")
			for _, e := range shown {
				fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\n", e.Row, e.Line, dash(e.Column), e.Reason)
			}
			tw.Flush()
		}
		return nil
	}
}
