package ctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Exit codes: what a script can tell apart without reading messages.
const (
	ExitOK          = 0
	ExitError       = 1   // anything else: a local file that fails half-way
	ExitUsage       = 2   // a bad command line: unknown command or flag, missing argument, unreadable -f file
	ExitAuth        = 3   // the token was refused (401) or lacks the permission (403)
	ExitNotFound    = 4   // 404
	ExitRefused     = 5   // any other 4xx: validation, conflict, too large
	ExitServer      = 6   // 5xx, connection refused, timeout; an upload that ended failed
	ExitInterrupted = 130 // Ctrl-C, as shells report SIGINT
)

// usageError is a command line that cannot run; cmd names the command
// whose --help explains it.
type usageError struct {
	msg string
	cmd string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), cmd: cmd}
}

// APIError is an answer of the node other than 2xx.
type APIError struct {
	Method, Path string
	Status       int
	// Detail is the API's {"detail": …} message; Fields its validation
	// map (field → messages); Body the answer when it is neither.
	Detail string
	Fields map[string][]string
	Body   string
	// What names the resource the request was about (`campaign "feb"`),
	// for a 404 people can read.
	What string
	// NoToken: the request carried no token at all.
	NoToken bool
}

func (e *APIError) Error() string {
	msg := e.message()
	status := fmt.Sprintf("%d", e.Status)
	switch {
	case e.Status == http.StatusUnauthorized && e.NoToken:
		return fmt.Sprintf("no token was given (401%s): set --token or DIALER_TOKEN", colonMsg(msg))
	case e.Status == http.StatusUnauthorized:
		return fmt.Sprintf("the token was refused (401%s): check --token or DIALER_TOKEN", colonMsg(msg))
	case e.Status == http.StatusForbidden:
		return fmt.Sprintf("permission denied (403): %s", orElse(msg, "this token may not do that"))
	case e.Status == http.StatusNotFound && e.What != "":
		return e.What + " not found"
	case e.Status == http.StatusNotFound:
		return fmt.Sprintf("not found (404): %s", orElse(msg, e.Method+" "+e.Path))
	case e.Status >= 500:
		return fmt.Sprintf("the node failed (%s %s): %s", status, http.StatusText(e.Status), orElse(msg, "no detail given"))
	case len(e.Fields) > 0:
		return fmt.Sprintf("the request was refused (%s %s):%s", status, http.StatusText(e.Status), e.fieldLines())
	default:
		return fmt.Sprintf("the request was refused (%s %s): %s", status, http.StatusText(e.Status), orElse(msg, "no detail given"))
	}
}

// message is the API's own words for the error.
func (e *APIError) message() string {
	if e.Detail != "" {
		return e.Detail
	}
	if len(e.Fields) > 0 {
		return strings.TrimSpace(strings.ReplaceAll(e.fieldLines(), "\n  ", " "))
	}
	return strings.TrimSpace(e.Body)
}

func (e *APIError) fieldLines() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %s: %s", k, strings.Join(e.Fields[k], " "))
	}
	return b.String()
}

func colonMsg(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// netError is a request that got no answer.
type netError struct {
	url     string
	timeout time.Duration // the bound that ran out, when that is why
	err     error
}

func (e *netError) Error() string {
	if e.timeout > 0 {
		return fmt.Sprintf("no answer from %s within %s: raise --timeout, or check the node", e.url, e.timeout)
	}
	why := e.err.Error()
	switch {
	case errors.Is(e.err, syscall.ECONNREFUSED):
		why = "connection refused"
	case isDNS(e.err):
		why = "unknown host"
	}
	return fmt.Sprintf("cannot reach the node at %s (%s): check --url or DIALER_URL", e.url, why)
}

func (e *netError) Unwrap() error { return e.err }

func isDNS(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

// failedError is an operation the node accepted and then reported failed
// (an upload whose processing failed).
type failedError struct{ msg string }

func (e *failedError) Error() string { return e.msg }

// ExitCode maps an error from a command to the process's exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ue *usageError
	var ae *APIError
	var ne *netError
	var fe *failedError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ae):
		switch {
		case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
			return ExitAuth
		case ae.Status == http.StatusNotFound:
			return ExitNotFound
		case ae.Status >= 400 && ae.Status < 500:
			return ExitRefused
		default:
			return ExitServer
		}
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ne), errors.As(err, &fe):
		return ExitServer
	}
	return ExitError
}
