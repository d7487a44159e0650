package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
)

// command is a node of the command tree: a group (subs) or a leaf (setup).
type command struct {
	name     string
	aliases  []string
	args     string // the positional arguments' synopsis: "SLUG", "FILE"
	summary  string // one line, for the listing of its group
	long     string // more, for its own --help
	examples []string
	// minArgs, maxArgs bound the positional arguments (maxArgs -1: any).
	minArgs, maxArgs int
	// setup defines the leaf's flags on fs and returns what runs it.
	setup func(fs *flag.FlagSet) runFunc
	subs  []*command
	// dflt is the leaf a group runs when its first argument names none of
	// its subcommands (`upload FILE` beside `upload get UUID`).
	dflt *command
}

type runFunc func(ctx context.Context, x *cli, args []string) error

func (c *command) find(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
		for _, a := range s.aliases {
			if a == name {
				return s
			}
		}
	}
	return nil
}

// errHelp: help was asked for and printed; the exit is 0.
var errHelp = errors.New("help printed")

// globalFlags are accepted anywhere on the line.
var globalFlags = map[string]bool{"url": true, "token": true, "json": true, "timeout": true}

// addGlobals defines the global flags on fs, bound to x.g: a value set
// before the command name stays the default after it.
func (x *cli) addGlobals(fs *flag.FlagSet) {
	fs.StringVar(&x.g.url, "url", x.g.url, "")
	fs.StringVar(&x.g.token, "token", x.g.token, "")
	fs.BoolVar(&x.g.json, "json", x.g.json, "")
	fs.DurationVar(&x.g.timeout, "timeout", x.g.timeout, "")
}

const globalHelp = `  --url URL          the node (env DIALER_URL; default ` + defaultURL + `)
  --token TOKEN      API token (env DIALER_TOKEN)
  --json             print the API's JSON (one document) instead of tables
  --timeout 30s      bound on each request
`

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// dispatch walks the tree along args and runs the leaf.
func (x *cli) dispatch(ctx context.Context, root *command, args []string) error {
	cmd, path := root, "dialerctl"
	for cmd.setup == nil {
		if cmd.dflt != nil && len(args) > 0 && cmd.find(args[0]) == nil && !isHelpFlag(args[0]) {
			cmd = cmd.dflt
			break
		}
		// Global flags may come before the subcommand's name.
		fs := newFlagSet(path)
		x.addGlobals(fs)
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				x.anyGroupHelp(x.stdout, root, cmd, path)
				return errHelp
			}
			return usagef(path, "%s", flagErr(err))
		}
		args = fs.Args()
		if len(args) == 0 {
			x.anyGroupHelp(x.stderr, root, cmd, path)
			return &usageError{}
		}
		if args[0] == "help" {
			return x.help(root, cmd, path, args[1:])
		}
		sub := cmd.find(args[0])
		if sub == nil {
			msg := fmt.Sprintf("unknown command %q for %q", args[0], path)
			if s := suggest(cmd, args[0]); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return usagef(path, "%s", msg)
		}
		cmd, path, args = sub, path+" "+sub.name, args[1:]
	}
	fs := newFlagSet(path)
	x.addGlobals(fs)
	run := cmd.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			x.leafHelp(x.stdout, cmd, path, fs)
			return errHelp
		}
		return usagef(path, "%s", flagErr(err))
	}
	name := strings.TrimPrefix(path, "dialerctl ")
	if len(pos) < cmd.minArgs {
		return usagef(path, "%s needs %s", name, cmd.args)
	}
	if cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs {
		return usagef(path, "%s takes %s, not %q", name, orElse(cmd.args, "no arguments"), strings.Join(pos, " "))
	}
	if x.g.timeout < 0 {
		return usagef(path, "--timeout must not be negative")
	}
	base, err := nodeURL(x.g.url)
	if err != nil {
		return usagef(path, "%v", err)
	}
	x.path = path
	x.api = &client{base: base, token: x.g.token, timeout: x.g.timeout, http: x.httpClient}
	return run(ctx, x, pos)
}

// nodeURL checks --url; host:port alone means http://host:port.
func nodeURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("--url %q is not a node's URL: write http://host:port", s)
	}
	return strings.TrimRight(s, "/"), nil
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "--help" || s == "-help" || s == "--h"
}

// flagErr rewrites the flag package's messages with the double dash this
// tool documents.
func flagErr(err error) string {
	msg := err.Error()
	msg = strings.Replace(msg, "flag provided but not defined: -", "unknown flag --", 1)
	msg = strings.Replace(msg, "flag needs an argument: -", "flag needs a value: --", 1)
	msg = strings.Replace(msg, " for flag -", " for flag --", 1)
	return msg
}

// parseInterspersed parses flags anywhere among the positional arguments
// (`campaigns get SLUG --json`), as gh and kubectl do; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// help is `dialerctl [group] help [command…]`.
func (x *cli) help(root, cmd *command, path string, args []string) error {
	for _, a := range args {
		sub := cmd.find(a)
		if sub == nil {
			return usagef(path, "no help for %q: unknown command", strings.Join(args, " "))
		}
		cmd, path = sub, path+" "+sub.name
	}
	switch {
	case cmd == root:
		x.rootHelp(x.stdout, root)
	case cmd.setup == nil:
		x.groupHelp(x.stdout, cmd, path)
	default:
		fs := newFlagSet(path)
		x.addGlobals(fs)
		cmd.setup(fs)
		x.leafHelp(x.stdout, cmd, path, fs)
	}
	return errHelp
}

func (x *cli) anyGroupHelp(w io.Writer, root, cmd *command, path string) {
	if cmd == root {
		x.rootHelp(w, root)
	} else {
		x.groupHelp(w, cmd, path)
	}
}

func (x *cli) rootHelp(w io.Writer, root *command) {
	fmt.Fprintf(w, "dialerctl is the command-line client of a dialerd node.\n\n")
	fmt.Fprintf(w, "Usage:\n  dialerctl <command> [<subcommand>] [flags] [arguments]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, c := range root.subs {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  help\thelp on any command: dialerctl help campaigns status\n")
	tw.Flush()
	fmt.Fprintf(w, "\nGlobal flags (anywhere on the line):\n%s", globalHelp)
	fmt.Fprintf(w, "\n%s", exitHelp)
	fmt.Fprintf(w, "\nExamples:\n")
	for _, e := range root.examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprintf(w, "\nRun 'dialerctl <command> --help' for a command's subcommands, flags and examples.\n")
}

const exitHelp = `Exit codes:
  0 ok   2 usage   3 token refused (401/403)   4 not found (404)
  5 request refused (other 4xx)   6 node failed or unreachable (5xx, network, timeout)
  1 other failure   130 interrupted
`

func (x *cli) groupHelp(w io.Writer, cmd *command, path string) {
	if cmd.long != "" {
		fmt.Fprintf(w, "%s\n\n", cmd.long)
	} else {
		fmt.Fprintf(w, "%s: %s.\n\n", path, cmd.summary)
	}
	fmt.Fprintf(w, "Usage:\n")
	if cmd.dflt != nil {
		fmt.Fprintf(w, "  %s %s [flags]\n", path, cmd.dflt.args)
	}
	fmt.Fprintf(w, "  %s <command> [flags] [arguments]\n\nCommands:\n", path)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, c := range cmd.subs {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	tw.Flush()
	if d := cmd.dflt; d != nil {
		fmt.Fprintf(w, "\n%s %s: %s.\n", path, d.args, d.summary)
		if d.long != "" {
			fmt.Fprintf(w, "%s\n", d.long)
		}
		fs := newFlagSet(path)
		x.addGlobals(fs)
		d.setup(fs)
		printFlags(w, "Flags of "+path+" "+d.args, fs)
	}
	var ex []string
	if cmd.dflt != nil {
		ex = append(ex, cmd.dflt.examples...)
	}
	for _, c := range cmd.subs {
		ex = append(ex, c.examples...)
	}
	if len(ex) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range ex {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	fmt.Fprintf(w, "\nGlobal flags:\n%s\nRun '%s <command> --help' for a command's flags.\n", globalHelp, path)
}

func (x *cli) leafHelp(w io.Writer, cmd *command, path string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage:\n  %s\n\n", strings.Join(strings.Fields(path+" "+cmd.args+" [flags]"), " "))
	s := cmd.summary
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:] + "."
	}
	fmt.Fprintf(w, "%s\n", s)
	if cmd.long != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.long)
	}
	printFlags(w, "Flags", fs)
	fmt.Fprintf(w, "\nGlobal flags:\n%s", globalHelp)
	if len(cmd.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range cmd.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// printFlags lists fs's own flags (not the global ones) under title.
func printFlags(w io.Writer, title string, fs *flag.FlagSet) {
	var own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !globalFlags[f.Name] {
			own = append(own, f)
		}
	})
	if len(own) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, f := range own {
		kind, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if kind != "" {
			name += " " + kind
		}
		if isZeroDefault(f) {
			fmt.Fprintf(tw, "  %s\t%s\n", name, usage)
		} else {
			fmt.Fprintf(tw, "  %s\t%s (default %s)\n", name, usage, f.DefValue)
		}
	}
	tw.Flush()
}

func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "[]", "0s":
		return true
	}
	return false
}

// suggest names the subcommand closest to a mistyped one (a prefix, or at
// most two edits away).
func suggest(cmd *command, typed string) string {
	best, bestD := "", 3
	var names []string
	for _, s := range cmd.subs {
		names = append(names, s.name)
		names = append(names, s.aliases...)
	}
	sort.Strings(names)
	for _, n := range names {
		if len(typed) >= 2 && strings.HasPrefix(n, typed) {
			return cmd.find(n).name
		}
		if d := editDistance(typed, n); d < bestD {
			best, bestD = cmd.find(n).name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// stringList is a flag that may be repeated.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
