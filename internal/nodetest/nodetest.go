// Package nodetest starts real dialerd processes on loopback for
// integration tests and the bench harness: free ports, a fresh data
// directory, readiness wait, kill -9, SIGTERM and restart on the same data.
package nodetest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
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
// both).
func FreePort(tb TB) int {
	tb.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
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
	logMu   sync.Mutex
	exited  chan struct{}
	exitErr error
}

// Start starts a node and waits until /readyz answers 200. It is stopped
// (kill -9) at the end of the test if still running; its log is printed
// when the test failed.
func Start(tb TB, opts Options) *Node {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	n := &Node{tb: tb, bin: Binary(tb), opts: opts, Dir: opts.Dir}
	n.HTTP = "127.0.0.1:" + strconv.Itoa(FreePort(tb))
	n.Gossip = "127.0.0.1:" + strconv.Itoa(FreePort(tb))
	n.URL = "http://" + n.HTTP
	n.start()
	tb.Cleanup(func() {
		n.Kill()
		if tb.Failed() {
			tb.Logf("log of node %s:\n%s", n.HTTP, n.Log())
		}
	})
	return n
}

func (n *Node) start() {
	n.tb.Helper()
	args := []string{"--http", n.HTTP, "--bind", n.Gossip, "--data", n.Dir, "--log-level", "info"}
	if n.opts.BootstrapToken != "" {
		args = append(args, "--bootstrap-token", n.opts.BootstrapToken)
	}
	for _, j := range n.opts.Join {
		args = append(args, "--join", j)
	}
	args = append(args, n.opts.Args...)
	n.log = &bytes.Buffer{}
	n.cmd = exec.Command(n.bin, args...)
	n.cmd.Env = append(os.Environ(), "DIALERD_BOOTSTRAP_TOKEN=")
	w := &lockedWriter{mu: &n.logMu, w: n.log}
	n.cmd.Stdout, n.cmd.Stderr = w, w
	if err := n.cmd.Start(); err != nil {
		n.tb.Fatal(err)
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
			n.tb.Fatalf("dialerd exited during start: %v\n%s", n.exitErr, n.Log())
		case <-deadline:
			n.tb.Fatalf("dialerd not ready after 30s\n%s", n.Log())
		default:
		}
		res, err := http.Get(n.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
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

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
