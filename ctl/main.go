package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/dialerd/dialerd"
)

// defaultURL is where `dialerd` with no flags listens.
const defaultURL = "http://127.0.0.1:8080"

// DefaultTimeout bounds each request unless --timeout says otherwise.
const DefaultTimeout = 30 * time.Second

// cli is one invocation: its streams, options and client.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	clock          dialerd.Clock
	httpClient     *http.Client
	// stdoutTTY, stderrTTY: the stream is a terminal, so views redraw in
	// place; otherwise (pipes, CI logs, tests) they print line by line.
	stdoutTTY, stderrTTY bool

	g    globals
	path string  // the command running: "dialerctl campaigns get"
	api  *client // set once the global flags are known
}

type globals struct {
	url, token string
	json       bool
	timeout    time.Duration
}

// Main runs dialerctl with args (without the program name) and returns the
// exit code. getenv reads the environment (DIALER_URL, DIALER_TOKEN); ctx
// ends when the user interrupts.
func Main(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	x := &cli{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		clock:      dialerd.RealClock{},
		httpClient: &http.Client{},
		stdoutTTY:  isTerminal(stdout, getenv),
		stderrTTY:  isTerminal(stderr, getenv),
	}
	x.g = globals{url: orElse(getenv("DIALER_URL"), defaultURL), token: getenv("DIALER_TOKEN"), timeout: DefaultTimeout}
	err := x.dispatch(ctx, commands(), args)
	if errors.Is(err, errHelp) {
		return ExitOK
	}
	if err != nil {
		x.report(err)
	}
	return ExitCode(err)
}

// report writes err for people: what went wrong and, for a usage error,
// where to read more.
func (x *cli) report(err error) {
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.msg != "" {
			fmt.Fprintf(x.stderr, "dialerctl: %s\n", ue.msg)
		}
		if ue.cmd != "" {
			fmt.Fprintf(x.stderr, "Run '%s --help' for usage.\n", ue.cmd)
		}
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(x.stderr, "dialerctl: interrupted")
		return
	}
	fmt.Fprintf(x.stderr, "dialerctl: %s\n", err)
}

// isTerminal reports whether w is a terminal: a character device, and
// TERM is not "dumb".
func isTerminal(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// after returns a channel closed once d has passed on the clock, and what
// stops it.
func (x *cli) after(d time.Duration) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	t := x.clock.AfterFunc(d, func() { close(ch) })
	return ch, func() { t.Stop() }
}

// sleep waits d, or until ctx ends (its error).
func (x *cli) sleep(ctx context.Context, d time.Duration) error {
	ch, stop := x.after(d)
	defer stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-ch:
		return nil
	}
}
