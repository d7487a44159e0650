package ctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/dialerd/dialerd"
)

func campaignsCmd() *command {
	return &command{name: "campaigns", aliases: []string{"campaign"}, summary: "create, inspect, change, pause, resume and watch campaigns",
		subs: []*command{
			{name: "list", aliases: []string{"ls"}, summary: "list the campaigns the token sees", maxArgs: 0, setup: campaignsList,
				examples: []string{"dialerctl campaigns list --workspace ws_001"}},
			{name: "create", summary: "create a campaign from a JSON file and/or flags", maxArgs: 0, setup: campaignsCreate,
				long: "Fields come from -f FILE (a JSON object as the API takes it; - reads standard input), then the\nfield flags, then --set key=value (any field of the API: --set dupe_days=-1). Later ones win.",
				examples: []string{
					"dialerctl campaigns create --name 'February Reminders' --workspace ws_001 --agent team-a --call-ratio 1.5",
					"dialerctl campaigns create -f campaign.json --set paused=true",
				}},
			{name: "get", args: "SLUG", summary: "show every field of a campaign", minArgs: 1, maxArgs: 1, setup: campaignsGet,
				examples: []string{"dialerctl campaigns get february-reminders"}},
			{name: "patch", args: "SLUG", summary: "change some fields of a campaign (PATCH)", minArgs: 1, maxArgs: 1, setup: campaignsPatch,
				long: "Fields come from -f FILE, the field flags and --set key=value, as for create; only those are changed.",
				examples: []string{
					"dialerctl campaigns patch february-reminders --call-ratio 2 --set max_active_calls=20",
					"dialerctl campaigns patch february-reminders -f changes.json",
				}},
			{name: "pause", args: "SLUG", summary: "stop placing new calls (sets paused; calls in progress finish)", minArgs: 1, maxArgs: 1, setup: campaignsPause(true),
				examples: []string{"dialerctl campaigns pause february-reminders"}},
			{name: "resume", args: "SLUG", summary: "place calls again after a pause", minArgs: 1, maxArgs: 1, setup: campaignsPause(false),
				examples: []string{"dialerctl campaigns resume february-reminders"}},
			{name: "delete", aliases: []string{"rm"}, args: "SLUG", summary: "delete a campaign", minArgs: 1, maxArgs: 1, setup: campaignsDelete,
				examples: []string{"dialerctl campaigns delete february-reminders"}},
			{name: "status", args: "SLUG", summary: "what the campaign is doing, and why nothing is dialled (--watch: live)", minArgs: 1, maxArgs: 1, setup: campaignsStatus,
				long: "Status (Running, Stopped, Completed, Inactive), the reasons nothing is dialled, calls ringing /\nconnected / queued, seats by state, prospects, attempts and abandon rate over 30 days.\nWith --watch it is redrawn every --interval until Ctrl-C (on a terminal in place; otherwise one\nblock per interval, and with --json one JSON document per line).",
				examples: []string{
					"dialerctl campaigns status february-reminders",
					"dialerctl campaigns status february-reminders --watch --interval 5s",
				}},
			{name: "calls", args: "SLUG", summary: "the campaign's call log, oldest first (a page; --cursor for the next)", minArgs: 1, maxArgs: 1, setup: campaignsCalls,
				examples: []string{"dialerctl campaigns calls february-reminders --limit 20"}},
		}}
}

func campaignWhat(slug string) string { return fmt.Sprintf("campaign %q", slug) }

func campaignPath(slug string) string { return "campaign/" + seg(slug) + "/" }

func campaignsList(fs *flag.FlagSet) runFunc {
	ws := fs.String("workspace", "", "only the campaigns of this workspace")
	email := fs.String("email", "", "only the campaigns of this owner")
	return func(ctx context.Context, x *cli, _ []string) error {
		cs, printed, err := getMany[dialerd.Campaign](ctx, x, withQuery("campaign/", "workspace", *ws, "email", *email))
		if err != nil || printed {
			return err
		}
		if len(cs) == 0 {
			fmt.Fprintln(x.stderr, "No campaigns.")
			return nil
		}
		rows := make([][]string, 0, len(cs))
		for _, c := range cs {
			rows = append(rows, []string{c.Slug, c.Name, deref(c.Workspace), deref(c.AgentID), campaignState(c),
				strconv.FormatFloat(c.CallRatio, 'g', -1, 64), when(c.CreatedAt)})
		}
		return table(x.stdout, []string{"SLUG", "NAME", "WORKSPACE", "AGENT", "STATE", "RATIO", "CREATED"}, rows)
	}
}

// campaignState is what the settings say of dialing: inactive, paused or
// active (the live status needs `campaigns status`).
func campaignState(c dialerd.Campaign) string {
	switch {
	case !c.Active:
		return "inactive"
	case c.Paused:
		return "paused"
	}
	return "active"
}

// fieldFlag is a flag for a common campaign field.
type fieldFlag struct{ flag, key, usage string }

var campaignFieldFlags = []fieldFlag{
	{"name", "name", "display name (required to create): `NAME`"},
	{"agent", "agent_id", "the agent whose seats take the answered calls: `ID`"},
	{"workspace", "workspace", "the workspace it belongs to: `ID`"},
	{"email", "email", "the owner's e-mail: `ADDRESS`"},
	{"locale", "locale_name", "locale for phones and calling rules: `LOCALE` (USCA)"},
	{"call-ratio", "call_ratio", "calls placed per free seat: `RATIO`"},
	{"dialer-interval", "dialer_interval", "seconds between dialer ticks, 2-15: `SECONDS`"},
	{"max-active-calls", "max_active_calls", "calls in progress at most (0: no limit): `N`"},
	{"max-number-calls", "max_number_calls", "attempts per prospect at most: `N`"},
	{"min-time-between-calls", "min_time_between_calls", "minutes between two attempts on a prospect: `MINUTES`"},
	{"earliest", "earliest_prospect_time", "earliest time to call in the prospect's zone: `HH:MM`"},
	{"latest", "latest_prospect_time", "latest time to call in the prospect's zone: `HH:MM`"},
	{"queue-strategy", "queue_strategy", "how answered calls pick a seat: `STRATEGY` (longest-idle-agent, round-robin, ...)"},
}

// campaignBody gathers a campaign body from -f, the field flags and --set.
type campaignBody struct {
	file   *string
	fields map[string]*string
	set    stringList
}

func newCampaignBody(fs *flag.FlagSet) *campaignBody {
	b := &campaignBody{fields: map[string]*string{}}
	b.file = fs.String("f", "", "a JSON object of fields (`FILE`; - reads standard input)")
	for _, f := range campaignFieldFlags {
		b.fields[f.flag] = fs.String(f.flag, "", f.usage)
	}
	fs.Var(&b.set, "set", "set any field: `key=value` (repeat)")
	return b
}

// build returns the JSON object to send and the keys it sets.
func (b *campaignBody) build(x *cli, fs *flag.FlagSet) ([]byte, []string, error) {
	obj := map[string]json.RawMessage{}
	if *b.file != "" {
		var err error
		if obj, err = readObjectFile(x, *b.file); err != nil {
			return nil, nil, err
		}
	}
	kinds := campaignKinds()
	var bad error
	fs.Visit(func(f *flag.Flag) {
		for _, ff := range campaignFieldFlags {
			if ff.flag == f.Name && bad == nil {
				v, err := fieldValue(kinds, ff.key, f.Value.String())
				if err != nil {
					bad = usagef(x.path, "--%s %s", f.Name, err)
					return
				}
				obj[ff.key] = v
			}
		}
	})
	if bad != nil {
		return nil, nil, bad
	}
	for _, kv := range b.set {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, nil, usagef(x.path, "--set %q: write key=value", kv)
		}
		raw, err := fieldValue(kinds, k, v)
		if err != nil {
			return nil, nil, usagef(x.path, "--set %s", err)
		}
		obj[k] = raw
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return marshal(obj), keys, nil
}

// readObjectFile reads a JSON object from a file, or standard input for "-".
func readObjectFile(x *cli, name string) (map[string]json.RawMessage, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(x.stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, usagef(x.path, "-f %s: %v", name, err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		if err == nil {
			err = fmt.Errorf("null")
		}
		return nil, usagef(x.path, "-f %s is not a JSON object: %v", name, err)
	}
	return obj, nil
}

// campaignKinds maps each field of the API's campaign to its JSON kind,
// read from the domain type so --set follows the API as it changes.
func campaignKinds() map[string]fieldKind {
	t := reflect.TypeOf(dialerd.Campaign{})
	m := map[string]fieldKind{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		k := fieldKind{nullable: ft.Kind() == reflect.Pointer}
		if k.nullable {
			ft = ft.Elem()
		}
		k.kind = ft.Kind()
		m[name] = k
	}
	return m
}

type fieldKind struct {
	kind     reflect.Kind
	nullable bool
}

// fieldValue turns the text of a flag into the JSON value of field key:
// a string for string fields, a number or boolean where the API wants one;
// for a field it does not know, JSON when the text is JSON, else a string
// (the node then names the field it does not take).
func fieldValue(kinds map[string]fieldKind, key, text string) (json.RawMessage, error) {
	k, known := kinds[key]
	if k.nullable && text == "null" {
		return json.RawMessage("null"), nil
	}
	switch {
	case !known:
		if json.Valid([]byte(text)) {
			return json.RawMessage(text), nil
		}
	case k.kind == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: want true or false", key, text)
		}
		return marshal(b), nil
	case k.kind >= reflect.Int && k.kind <= reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: want a whole number", key, text)
		}
		return marshal(n), nil
	case k.kind == reflect.Float64 || k.kind == reflect.Float32:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: want a number", key, text)
		}
		return marshal(f), nil
	}
	return marshal(text), nil
}

func campaignsCreate(fs *flag.FlagSet) runFunc {
	body := newCampaignBody(fs)
	return func(ctx context.Context, x *cli, _ []string) error {
		b, _, err := body.build(x, fs)
		if err != nil {
			return err
		}
		data, err := x.api.sendJSON(ctx, "POST", "campaign/", b, "")
		if err != nil {
			return err
		}
		c, printed, err := decodeAnswer[dialerd.Campaign](x, data)
		if err != nil || printed {
			return err
		}
		fmt.Fprintf(x.stdout, "Created campaign %q (slug %s, %s).\n", c.Name, c.Slug, campaignState(c))
		return nil
	}
}

func campaignsGet(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		data, err := x.api.get(ctx, campaignPath(args[0]), campaignWhat(args[0]))
		if err != nil {
			return err
		}
		if x.g.json {
			return x.printJSON(data)
		}
		return printObject(x.stdout, data)
	}
}

func campaignsPatch(fs *flag.FlagSet) runFunc {
	body := newCampaignBody(fs)
	return func(ctx context.Context, x *cli, args []string) error {
		b, keys, err := body.build(x, fs)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return usagef(x.path, "nothing to change: give -f FILE, field flags or --set key=value")
		}
		data, err := x.api.sendJSON(ctx, "PATCH", campaignPath(args[0]), b, campaignWhat(args[0]))
		if err != nil {
			return err
		}
		now, printed, err := decodeAnswer[map[string]json.RawMessage](x, data)
		if err != nil || printed {
			return err
		}
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			if v, ok := now[k]; ok {
				parts = append(parts, k+"="+scalar(v))
			}
		}
		fmt.Fprintf(x.stdout, "Updated campaign %s: %s.\n", args[0], strings.Join(parts, ", "))
		return nil
	}
}

// campaignsPause sets the campaign's paused field: the API pauses by PATCH.
func campaignsPause(paused bool) func(fs *flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		return func(ctx context.Context, x *cli, args []string) error {
			data, err := x.api.sendJSON(ctx, "PATCH", campaignPath(args[0]), marshal(map[string]bool{"paused": paused}), campaignWhat(args[0]))
			if err != nil {
				return err
			}
			c, printed, err := decodeAnswer[dialerd.Campaign](x, data)
			if err != nil || printed {
				return err
			}
			if paused {
				fmt.Fprintf(x.stdout, "Paused campaign %s: it places no new calls; calls in progress finish.\n", c.Slug)
				return nil
			}
			fmt.Fprintf(x.stdout, "Resumed campaign %s.\n", c.Slug)
			if !c.Active {
				fmt.Fprintf(x.stdout, "Note: it is inactive (active=false) and dials only once set active: dialerctl campaigns patch %s --set active=true\n", c.Slug)
			}
			return nil
		}
	}
}

func campaignsDelete(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, x *cli, args []string) error {
		if _, err := x.api.send(ctx, call{method: "DELETE", path: campaignPath(args[0]), what: campaignWhat(args[0])}); err != nil {
			return err
		}
		if !x.g.json {
			fmt.Fprintf(x.stdout, "Deleted campaign %s.\n", args[0])
		}
		return nil
	}
}

func campaignsCalls(fs *flag.FlagSet) runFunc {
	limit := fs.Int("limit", 100, "calls per page, 1-1000")
	cursor := fs.String("cursor", "", "where the page starts (the next_cursor of the previous one)")
	return func(ctx context.Context, x *cli, args []string) error {
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *cursor != "" {
			q.Set("cursor", *cursor)
		}
		data, err := x.api.get(ctx, campaignPath(args[0])+"calls/?"+q.Encode(), campaignWhat(args[0]))
		if err != nil {
			return err
		}
		page, printed, err := decodeAnswer[dialerd.CallPage](x, data)
		if err != nil || printed {
			return err
		}
		rows := make([][]string, 0, len(page.Results))
		for _, c := range page.Results {
			seat, wait := "-", "-"
			if c.Seat > 0 {
				seat = strconv.Itoa(c.Seat)
			}
			if c.WaitSeconds != nil {
				wait = strconv.FormatFloat(*c.WaitSeconds, 'f', 1, 64) + "s"
			}
			rows = append(rows, []string{c.ID, when(c.StartedAt), c.Phone, dash(c.State), dash(c.LocalTime), strconv.Itoa(c.Attempt),
				orElse(c.Outcome, "in progress"), dash(c.Disposition), seat, wait})
		}
		if len(rows) == 0 {
			fmt.Fprintln(x.stderr, "No calls.")
		} else if err := table(x.stdout, []string{"ID", "STARTED", "PHONE", "STATE", "LOCAL TIME", "ATTEMPT", "OUTCOME", "DISPOSITION", "SEAT", "WAIT"}, rows); err != nil {
			return err
		}
		moreHint(x, page.Next)
		return nil
	}
}

// moreHint tells where the next page starts.
func moreHint(x *cli, next string) {
	if next != "" {
		fmt.Fprintf(x.stderr, "More: add --cursor %s\n", next)
	}
}
