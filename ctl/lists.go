package ctl

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
)

func listsCmd() *command {
	return &command{name: "lists", aliases: []string{"list"}, summary: "prospect lists: list, create, get, delete, and their prospects",
		subs: []*command{
			{name: "list", aliases: []string{"ls"}, summary: "list the prospect lists the token sees", maxArgs: 0, setup: listsList,
				examples: []string{"dialerctl lists list --campaign february-reminders"}},
			{name: "create", summary: "create a list in a campaign", maxArgs: 0, setup: listsCreate,
				examples: []string{"dialerctl lists create --name 'February list' --campaign february-reminders"}},
			{name: "get", args: "LIST", summary: "show a list (by slug or UUID)", minArgs: 1, maxArgs: 1, setup: listsGet,
				examples: []string{"dialerctl lists get february-list"}},
			{name: "delete", aliases: []string{"rm"}, args: "LIST", summary: "delete a list and its prospects", minArgs: 1, maxArgs: 1, setup: listsDelete,
				examples: []string{"dialerctl lists delete february-list"}},
			{name: "prospects", args: "LIST", summary: "a page of a list's prospects (--cursor for the next)", minArgs: 1, maxArgs: 1, setup: listsProspects,
				examples: []string{"dialerctl lists prospects february-list --status unresolved --limit 50"}},
		}}
}

func listWhat(id string) string { return fmt.Sprintf("list %q", id) }

func listPath(id string) string { return "list/" + seg(id) + "/" }

func listsList(fs *flag.FlagSet) runFunc {
	campaign := fs.String("campaign", "", "only the lists of this campaign (slug)")
	ws := fs.String("workspace", "", "only the lists of this workspace")
	return func(ctx context.Context, x *cli, _ []string) error {
		ls, printed, err := getMany[dialerd.ProspectList](ctx, x, withQuery("list/", "campaign", *campaign, "workspace", *ws))
		if err != nil || printed {
			return err
		}
		if len(ls) == 0 {
			fmt.Fprintln(x.stderr, "No lists.")
			return nil
		}
		rows := make([][]string, 0, len(ls))
		for _, l := range ls {
			rows = append(rows, []string{l.Slug, l.UUID, l.Name, l.Campaign, deref(l.Workspace), when(l.CreatedAt)})
		}
		return table(x.stdout, []string{"SLUG", "UUID", "NAME", "CAMPAIGN", "WORKSPACE", "CREATED"}, rows)
	}
}

func listsCreate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the list's name (its slug comes from it)")
	campaign := fs.String("campaign", "", "the campaign (slug) the list feeds")
	return func(ctx context.Context, x *cli, _ []string) error {
		if *name == "" || *campaign == "" {
			return usagef(x.path, "give --name and --campaign")
		}
		data, err := x.api.sendJSON(ctx, "POST", "list/", marshal(map[string]string{"name": *name, "campaign": *campaign}), "")
		if err != nil {
			return err
		}
		l, printed, err := decodeAnswer[dialerd.ProspectList](x, data)
		if err != nil || printed {
			return err
		}
		fmt.Fprintf(x.stdout, "Created list %q in campaign %s (slug %s, uuid %s).\n", l.Name, l.Campaign, l.Slug, l.UUID)
		return nil
	}
}

func listsGet(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		data, err := x.api.get(ctx, listPath(args[0]), listWhat(args[0]))
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		return printObject(x.stdout, data)
	}
}

func listsDelete(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		if _, err := x.api.send(ctx, call{method: "DELETE", path: listPath(args[0]), what: listWhat(args[0])}); err != nil {
			return err
		}
		if !x.g.json {
			fmt.Fprintf(x.stdout, "Deleted list %s.\n", args[0])
		}
		return nil
	}
}

func listsProspects(fs *flag.FlagSet) runFunc {
	status := fs.String("status", "", "only unresolved or resolved prospects")
	limit := fs.Int("limit", 100, "prospects per page, 1-1000")
	cursor := fs.String("cursor", "", "where the page starts (the next_cursor of the previous one)")
	return func(ctx context.Context, x *cli, args []string) error {
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *status != "" {
			q.Set("status", *status)
		}
		if *cursor != "" {
			q.Set("cursor", *cursor)
		}
		data, err := x.api.get(ctx, listPath(args[0])+"prospects/?"+q.Encode(), listWhat(args[0]))
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		var page struct {
			Results []dialerd.Prospect `json:"results"`
			Next    string             `json:"next_cursor"`
		}
		if err := decode(data, &page); err != nil {
			return err
		}
		rows := make([][]string, 0, len(page.Results))
		for _, p := range page.Results {
			name := strings.TrimSpace(p.FirstName + " " + p.LastName)
			status := p.Status
			if p.Resolution != "" {
				status += " (" + p.Resolution + ")"
			}
			rows = append(rows, []string{p.ID, p.Phone, dash(name), dash(p.State), dash(strings.Join(p.Timezones, ",")), status,
				strconv.Itoa(p.Attempts), dash(p.LastOutcome), when(p.NextCallAt)})
		}
		if len(rows) == 0 {
			fmt.Fprintln(x.stderr, "No prospects on this page.")
		} else if err := table(x.stdout, []string{"ID", "PHONE", "NAME", "STATE", "TIMEZONES", "STATUS", "ATTEMPTS", "LAST OUTCOME", "NEXT CALL"}, rows); err != nil {
			return err
		}
		moreHint(x, page.Next)
		return nil
	}
}

func prospectsCmd() *command {
	return &command{name: "prospects", aliases: []string{"prospect"}, summary: "add one prospect; explain whether a prospect can be called now",
		subs: []*command{
			{name: "add", args: "LIST", summary: "add one prospect to a list", minArgs: 1, maxArgs: 1, setup: prospectsAdd,
				examples: []string{"dialerctl prospects add february-list --phone '+1 415 555 1234' --first-name John --last-name Smith --field plan=gold"}},
			{name: "eligibility", aliases: []string{"why"}, args: "LIST ID", summary: "whether a prospect can be called now, and every reason not", minArgs: 2, maxArgs: 2, setup: prospectsEligibility,
				examples: []string{"dialerctl prospects eligibility february-list 000000000042"}},
		}}
}

func prospectsAdd(fs *flag.FlagSet) runFunc {
	fields := []struct{ flag, key, usage string }{
		{"phone", "primary_phone", "the phone number (required), written any usual way"},
		{"first-name", "first_name", "first name"},
		{"last-name", "last_name", "last name"},
		{"email", "email", "e-mail"},
		{"state", "state", "state or province code (else from the number)"},
		{"zip", "zip", "ZIP or postal code"},
		{"timezone", "timezone", "IANA time zone (else from the number)"},
	}
	vals := map[string]*string{}
	for _, f := range fields {
		vals[f.key] = fs.String(f.flag, "", f.usage)
	}
	var custom stringList
	fs.Var(&custom, "field", "a custom field handed to the agent: `key=value` (repeat)")
	dedupe := fs.Bool("dedupe", true, "refuse a number already in the campaign within dupe_days")
	return func(ctx context.Context, x *cli, args []string) error {
		if *vals["primary_phone"] == "" {
			return usagef(x.path, "--phone is required")
		}
		body := map[string]any{"dedupe": *dedupe}
		for k, v := range vals {
			if *v != "" {
				body[k] = *v
			}
		}
		if len(custom) > 0 {
			cf := map[string]string{}
			for _, kv := range custom {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef(x.path, "--field %q: write key=value", kv)
				}
				cf[k] = v
			}
			body["fields"] = cf
		}
		data, err := x.api.sendJSON(ctx, "POST", "prospect/"+seg(args[0])+"/", marshal(body), listWhat(args[0]))
		if err != nil {
			return err
		}
		p, printed, err := decodeAnswer[dialerd.Prospect](x, data)
		if err != nil || printed {
			return err
		}
		fmt.Fprintf(x.stdout, "Added prospect %s: %s (%s, %s), %s.\n", p.ID, p.Phone, dash(p.State), dash(strings.Join(p.Timezones, ",")), p.Status)
		return nil
	}
}

func prospectsEligibility(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		data, err := x.api.get(ctx, "prospect/"+seg(args[0])+"/"+seg(args[1])+"/eligibility/", fmt.Sprintf("prospect %s in list %q", args[1], args[0]))
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		var e struct {
			Prospect, List, Campaign string
			At                       time.Time
			Eligible                 bool
			Reasons                  []dialerd.Reason
			Next                     time.Time `json:"next_eligible_at"`
		}
		if err := decode(data, &e); err != nil {
			return err
		}
		verdict := "can be called now"
		if !e.Eligible {
			verdict = "cannot be called now"
		}
		fmt.Fprintf(x.stdout, "Prospect %s of campaign %s %s (at %s).\n", e.Prospect, e.Campaign, verdict, when(e.At))
		for _, r := range e.Reasons {
			fmt.Fprintf(x.stdout, "  %s: %s\n", r.Code, r.Message)
		}
		switch {
		case !e.Next.IsZero():
			fmt.Fprintf(x.stdout, "Next eligible at %s.\n", when(e.Next))
		case !e.Eligible:
			fmt.Fprintln(x.stdout, "It never becomes eligible as things stand.")
		}
		return nil
	}
}
