// Package nodetest starts real dialerd processes on loopback for
// integration tests and the bench harness: free ports, a fresh data
// directory, readiness wait, kill -9, SIGTERM and restart on the same data.
package nodetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dialerd/dialerd"
)

// TB is the part of testing.TB a node needs; the bench harness supplies its
// own.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	TempDir() string
	Failed() bool
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/dialerd once per test process and returns its path.
// DIALERD_BIN, when set, names a prebuilt binary instead.
func Binary(tb TB) string {
	tb.Helper()
	if p := os.Getenv("DIALERD_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dialerd-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "dialerd")
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/dialerd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return buildPath
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(string(bytes.TrimSpace(out))), nil
}

// FreePort returns a port free for TCP and UDP on 127.0.0.1 (gossip needs
// both). It is drawn below the kernel's ephemeral range (32768–60999 by
// default), where port-0 listeners — the nodes' own actor and Raft
// transports, HTTP clients — never land: a node restarted on its ports
// finds them free unless another FreePort drew the same one in the
// moments it was down.
func FreePort(tb TB) int {
	tb.Helper()
	for i := 0; i < 200; i++ {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	tb.Fatal("no free port")
	return 0
}

// Options configure a node process.
type Options struct {
	BootstrapToken string
	Dir            string   // data dir; default a fresh temp dir
	Args           []string // extra flags
	Join           []string // gossip addresses to join
}

// Node is a dialerd process under test.
type Node struct {
	tb      TB
	bin     string
	opts    Options
	URL     string // http://127.0.0.1:port
	HTTP    string // 127.0.0.1:port
	Gossip  string // 127.0.0.1:port
	Dir     string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	prevLog string // logs of earlier runs (before a Restart)
	logMu   sync.Mutex
	exited  chan struct{}
	exitErr error
}

// Start starts a node and waits until /readyz answers 200. It is stopped
// (kill -9) at the end of the test if still running; its log is printed
// when the test failed.
func Start(tb TB, opts Options) *Node {
	tb.Helper()
	ownDir := opts.Dir == ""
	if ownDir {
		opts.Dir = tb.TempDir()
	}
	n := &Node{tb: tb, bin: Binary(tb), opts: opts, Dir: opts.Dir}
	// A port FreePort found free may be taken before dialerd binds it (by
	// another node's port-0 listener): start again on fresh ports (and, when
	// the directory is ours, in a fresh one).
	for attempt := 1; ; attempt++ {
		if attempt > 1 && ownDir {
			n.opts.Dir = tb.TempDir()
			n.Dir = n.opts.Dir
		}
		n.HTTP = "127.0.0.1:" + strconv.Itoa(FreePort(tb))
		n.Gossip = "127.0.0.1:" + strconv.Itoa(FreePort(tb))
		n.URL = "http://" + n.HTTP
		err := n.tryStart()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			tb.Fatal(err)
		}
		tb.Logf("nodetest: a port was taken under us (%v); starting again on others", err)
	}
	tb.Cleanup(func() {
		n.Kill()
		if tb.Failed() {
			n.logMu.Lock()
			prev := n.prevLog
			n.logMu.Unlock()
			tb.Logf("log of node %s:\n%s%s", n.HTTP, prev, n.Log())
		}
	})
	return n
}

// errPortTaken: dialerd could not bind a port it was given.
var errPortTaken = errors.New("address already in use")

func (n *Node) start() {
	n.tb.Helper()
	if err := n.tryStart(); err != nil {
		n.tb.Fatal(err)
	}
}

func (n *Node) tryStart() error {
	n.tb.Helper()
	args := []string{"--http", n.HTTP, "--bind", n.Gossip, "--data", n.Dir, "--log-level", "info"}
	if n.opts.BootstrapToken != "" {
		args = append(args, "--bootstrap-token", n.opts.BootstrapToken)
	}
	for _, j := range n.opts.Join {
		args = append(args, "--join", j)
	}
	args = append(args, n.opts.Args...)
	n.logMu.Lock()
	if n.log != nil && n.log.Len() > 0 {
		n.prevLog += n.log.String() + "----- restart -----\n"
	}
	n.log = &bytes.Buffer{}
	n.logMu.Unlock()
	n.cmd = exec.Command(n.bin, args...)
	n.cmd.Env = append(os.Environ(), "DIALERD_BOOTSTRAP_TOKEN=")
	w := &lockedWriter{mu: &n.logMu, w: n.log}
	n.cmd.Stdout, n.cmd.Stderr = w, w
	if err := n.cmd.Start(); err != nil {
		return err
	}
	n.exited = make(chan struct{})
	go func() {
		n.exitErr = n.cmd.Wait()
		close(n.exited)
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-n.exited:
			if log := n.Log(); strings.Contains(log, "bind: address already in use") {
				return fmt.Errorf("dialerd exited during start: %w\n%s", errPortTaken, log)
			}
			return fmt.Errorf("dialerd exited during start: %v\n%s", n.exitErr, n.Log())
		case <-deadline:
			return fmt.Errorf("dialerd not ready after 30s\n%s", n.Log())
		default:
		}
		res, err := http.Get(n.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log returns what the process wrote so far.
func (n *Node) Log() string {
	n.logMu.Lock()
	defer n.logMu.Unlock()
	return n.log.String()
}

// Kill sends SIGKILL and waits for the process to go.
func (n *Node) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// Stop sends SIGTERM and waits up to 30 s for a clean exit; it returns the
// exit error (nil for a clean exit).
func (n *Node) Stop() error {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
		return n.exitErr
	case <-time.After(30 * time.Second):
		n.Kill()
		return fmt.Errorf("dialerd did not stop within 30s after SIGTERM")
	}
}

// Restart starts the node again on the same ports and data directory.
func (n *Node) Restart() {
	n.tb.Helper()
	n.Kill()
	n.start()
}

// Pid is the process ID.
func (n *Node) Pid() int { return n.cmd.Process.Pid }

// Pause stops the process with SIGSTOP: it keeps its sockets and state but
// runs no code, like a node frozen by a long GC pause or a stalled VM.
func (n *Node) Pause() {
	n.tb.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		n.tb.Fatalf("SIGSTOP %s: %v", n.HTTP, err)
	}
}

// Resume continues a paused process with SIGCONT.
func (n *Node) Resume() {
	n.tb.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		n.tb.Fatalf("SIGCONT %s: %v", n.HTTP, err)
	}
}

// Exited reports whether the current run of the process has ended.
func (n *Node) Exited() bool {
	select {
	case <-n.exited:
		return true
	default:
		return false
	}
}

// SetJoin replaces the gossip seeds the next Restart passes with --join
// (the first node of a cluster starts without any, and needs some to find
// the others again after a restart).
func (n *Node) SetJoin(seeds []string) {
	n.opts.Join = append([]string(nil), seeds...)
}

// StartCluster starts n nodes: the first with opts as given (it bootstraps
// the cluster), the others with opts plus --join of the first. Each node
// gets its own data directory (opts.Dir is ignored). It returns once every
// node sees n members and answers /readyz with 200 (see WaitReady).
func StartCluster(tb TB, n int, opts Options) []*Node {
	tb.Helper()
	first := opts
	first.Dir, first.Join = "", nil
	nodes := []*Node{Start(tb, first)}
	for i := 1; i < n; i++ {
		o := opts
		o.Dir, o.Join = "", []string{nodes[0].Gossip}
		nodes = append(nodes, Start(tb, o))
	}
	WaitReady(tb, nodes, 60*time.Second)
	return nodes
}

// WaitReady waits until every node of nodes reports len(nodes) live
// members (metric dialerd_cluster_members) and answers /readyz with 200,
// and — where a node exports them — all nodes applied the same shard map
// version and see no under-replicated shard, continuously for settle
// (2 s): a node that just joined is ready before the shard map places
// anything on it, and the hand-over that follows makes new owners unready
// for a moment.
func WaitReady(tb TB, nodes []*Node, timeout time.Duration) {
	tb.Helper()
	const settle = 2 * time.Second
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := dialerd.Stopwatch().Add(timeout)
	var since time.Time
	for {
		why := ""
		versions := map[string]bool{}
		for _, n := range nodes {
			var version string
			if why, version = n.notReady(client, len(nodes)); why != "" {
				break
			}
			if version != "" {
				versions[version] = true
			}
		}
		if why == "" && len(versions) > 1 {
			why = fmt.Sprintf("nodes applied different shard map versions %v", versions)
		}
		switch {
		case why != "":
			since = time.Time{}
		case since.IsZero():
			since = dialerd.Stopwatch()
		case time.Since(since) >= settle:
			return
		}
		if dialerd.Stopwatch().After(deadline) {
			tb.Fatalf("cluster of %d not ready after %v: %s", len(nodes), timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// notReady returns why the node is not ready with members live members
// ("" when it is), and the shard map version it applied ("" if it does not
// export it).
func (n *Node) notReady(client *http.Client, members int) (string, string) {
	if n.Exited() {
		return n.HTTP + " has exited", ""
	}
	res, err := client.Get(n.URL + "/readyz")
	if err != nil {
		return n.HTTP + ": " + err.Error(), ""
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Sprintf("%s /readyz %d %s", n.HTTP, res.StatusCode, bytes.TrimSpace(body)), ""
	}
	res, err = client.Get(n.URL + "/metrics")
	if err != nil {
		return n.HTTP + ": " + err.Error(), ""
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if v, _ := metric(body, "dialerd_cluster_members"); v != strconv.Itoa(members) {
		return fmt.Sprintf("%s sees %q members, not %d", n.HTTP, v, members), ""
	}
	if v, ok := metric(body, "dialerd_cluster_shards_under_replicated"); ok && v != "0" {
		return fmt.Sprintf("%s sees %s under-replicated shards", n.HTTP, v), ""
	}
	version, _ := metric(body, "dialerd_cluster_map_version")
	return "", version
}

// metric returns the value of an unlabelled metric in a Prometheus text
// exposition.
func metric(body []byte, name string) (string, bool) {
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
