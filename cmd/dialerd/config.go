package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Config is the node's configuration. Every field has a flag, and an
// environment variable DIALERD_<FLAG> that the flag overrides.
type Config struct {
	// HTTP is the API listen address.
	HTTP string
	// Data is the data directory (Pebble).
	Data string
	// Bind is the gossip (memberlist) listen address, TCP and UDP.
	Bind string
	// Remote is the actor transport address; port 0 picks a free port,
	// advertised through membership.
	Remote string
	// Raft is the consensus transport address; port 0 picks a free port,
	// advertised through membership.
	Raft string
	// Replicas is R, the copies of every shard (fewer while the cluster has
	// fewer nodes).
	Replicas int
	// Advertise is the gossip address other nodes reach, when Bind is not
	// reachable as is (0.0.0.0, NAT).
	Advertise string
	// Join lists seed gossip addresses of a running cluster.
	Join []string
	// Clock is "real" or "virtual".
	Clock string
	// ClockSpeed is how many times faster than wall time a virtual clock
	// runs.
	ClockSpeed float64
	// ClockStart is where a virtual clock starts; default now.
	ClockStart time.Time
	// ClockAnchor is the wall time at which a virtual clock reads
	// ClockStart; default the process's start. Nodes of one cluster share
	// it (and a node restarted keeps its timeline) by naming the same one.
	ClockAnchor time.Time
	// BootstrapToken is an admin token accepted without a stored record:
	// use it to mint scoped tokens, then keep it secret or unset it.
	BootstrapToken string
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// Pprof, when set, serves net/http/pprof on this address (loopback
	// only in practice: it exposes internals).
	Pprof string
	// MaxUploadBytes bounds an uploaded CSV file.
	MaxUploadBytes int64
	// Provider places calls: "sim" (simulated carrier and agents) or
	// "webhook" (a voice-agent platform, docs/webhook.md).
	Provider string
	// WebhookURL is the platform's base URL; WebhookSecret signs both
	// directions (HMAC-SHA256).
	WebhookURL, WebhookSecret string
	// SimSeed seeds the sim provider's draws.
	SimSeed uint64
	// EventsBase is the base URL the platform posts events to; default
	// http://<--http>.
	EventsBase string
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("dialerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("DIALERD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	var c Config
	var join, clockStart, clockAnchor, logLevel, speed, replicas, maxUpload, simSeed string
	fs.StringVar(&c.HTTP, "http", env("http", "127.0.0.1:8080"), "API listen address")
	fs.StringVar(&c.Data, "data", env("data", "./data"), "data directory")
	fs.StringVar(&c.Bind, "bind", env("bind", "127.0.0.1:7946"), "gossip listen address (TCP+UDP)")
	fs.StringVar(&c.Remote, "remote", env("remote", "127.0.0.1:0"), "actor transport address; port 0 = any free port")
	fs.StringVar(&c.Raft, "raft", env("raft", "127.0.0.1:0"), "consensus (Raft) address; port 0 = any free port")
	fs.StringVar(&replicas, "replicas", env("replicas", "3"), "copies of every shard (R)")
	fs.StringVar(&c.Advertise, "advertise", env("advertise", ""), "gossip address other nodes reach (default: --bind)")
	fs.StringVar(&join, "join", env("join", ""), "comma-separated gossip addresses of nodes to join")
	fs.StringVar(&c.Clock, "clock", env("clock", "real"), "clock: real or virtual")
	fs.StringVar(&speed, "clock-speed", env("clock-speed", "1"), "virtual clock speed (× wall time)")
	fs.StringVar(&clockStart, "clock-start", env("clock-start", ""), "virtual clock start, RFC 3339 (default now)")
	fs.StringVar(&clockAnchor, "clock-anchor", env("clock-anchor", ""), "wall time at which the virtual clock reads --clock-start, RFC 3339 (default: when the process starts); give every node of a cluster the same")
	fs.StringVar(&c.BootstrapToken, "bootstrap-token", env("bootstrap-token", ""), "admin token accepted without a record")
	fs.StringVar(&c.Pprof, "pprof", env("pprof", ""), "serve net/http/pprof on this address (debugging)")
	fs.StringVar(&maxUpload, "max-upload-bytes", env("max-upload-bytes", "1073741824"), "largest CSV file an upload accepts")
	fs.StringVar(&c.Provider, "provider", env("provider", "sim"), "telephony provider: sim or webhook")
	fs.StringVar(&c.WebhookURL, "webhook-url", env("webhook-url", ""), "webhook provider: the platform's base URL")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", env("webhook-secret", ""), "webhook provider: shared HMAC-SHA256 secret")
	fs.StringVar(&c.EventsBase, "events-url", env("events-url", ""), "webhook provider: base URL the platform posts events to (default http://<--http>)")
	fs.StringVar(&simSeed, "sim-seed", env("sim-seed", "1"), "sim provider: seed of its draws")
	fs.StringVar(&logLevel, "log-level", env("log-level", "info"), "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return c, usageError{err}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	for _, j := range strings.Split(join, ",") {
		if j = strings.TrimSpace(j); j != "" {
			c.Join = append(c.Join, j)
		}
	}
	var err error
	if c.ClockSpeed, err = strconv.ParseFloat(speed, 64); err != nil {
		return c, usageError{fmt.Errorf("--clock-speed: %w", err)}
	}
	if c.Replicas, err = strconv.Atoi(replicas); err != nil {
		return c, usageError{fmt.Errorf("--replicas: %w", err)}
	}
	if c.MaxUploadBytes, err = strconv.ParseInt(maxUpload, 10, 64); err != nil || c.MaxUploadBytes < 1 {
		return c, usageError{fmt.Errorf("--max-upload-bytes: want a positive number of bytes, got %q", maxUpload)}
	}
	if c.SimSeed, err = strconv.ParseUint(simSeed, 10, 64); err != nil {
		return c, usageError{fmt.Errorf("--sim-seed: %w", err)}
	}
	if clockStart != "" {
		if c.ClockStart, err = time.Parse(time.RFC3339, clockStart); err != nil {
			return c, usageError{fmt.Errorf("--clock-start: %w", err)}
		}
	}
	if clockAnchor != "" {
		if c.ClockAnchor, err = time.Parse(time.RFC3339Nano, clockAnchor); err != nil {
			return c, usageError{fmt.Errorf("--clock-anchor: %w", err)}
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return c, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	return c, c.Validate()
}

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"--http": c.HTTP, "--bind": c.Bind, "--remote": c.Remote, "--raft": c.Raft} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, addr, err))
		}
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			errs = append(errs, fmt.Errorf("--advertise %q: %w", c.Advertise, err))
		}
	}
	if c.Replicas < 1 || c.Replicas > 7 {
		errs = append(errs, errors.New("--replicas must be between 1 and 7"))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("--data is required"))
	}
	switch c.Clock {
	case "real":
		if c.ClockSpeed != 1 || !c.ClockStart.IsZero() || !c.ClockAnchor.IsZero() {
			errs = append(errs, errors.New("--clock-speed, --clock-start and --clock-anchor need --clock virtual"))
		}
	case "virtual":
		if !(c.ClockSpeed > 0) || c.ClockSpeed > 1e6 {
			errs = append(errs, errors.New("--clock-speed must be > 0 and ≤ 1e6"))
		}
	default:
		errs = append(errs, fmt.Errorf("--clock %q: want real or virtual", c.Clock))
	}
	switch c.Provider {
	case "sim":
	case "webhook":
		if c.WebhookURL == "" || c.WebhookSecret == "" {
			errs = append(errs, errors.New("--provider webhook needs --webhook-url and --webhook-secret"))
		}
	default:
		errs = append(errs, fmt.Errorf("--provider %q: want sim or webhook", c.Provider))
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

// usageError is a configuration mistake: exit code 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
