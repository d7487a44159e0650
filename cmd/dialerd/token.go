package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

const tokenUsage = `usage: dialerd token create [--name N] (--workspace W ... | --admin)
       dialerd token list
       dialerd token revoke ID
flags for all: --url (env DIALER_URL, default http://127.0.0.1:8080)
               --token (env DIALER_TOKEN, else DIALERD_BOOTSTRAP_TOKEN): an admin token`

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runToken is "dialerd token …": a client of a running node's token API.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(tokenUsage)}
	}
	sub := args[0]
	fs := flag.NewFlagSet("dialerd token "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	url := fs.String("url", firstOf(getenv("DIALER_URL"), "http://127.0.0.1:8080"), "node URL")
	token := fs.String("token", firstOf(getenv("DIALER_TOKEN"), getenv("DIALERD_BOOTSTRAP_TOKEN")), "admin token")
	name := fs.String("name", "", "token name")
	admin := fs.Bool("admin", false, "admin token (all workspaces)")
	asJSON := fs.Bool("json", false, "print JSON")
	var ws stringList
	fs.Var(&ws, "workspace", "workspace the token covers (repeat)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{fmt.Errorf("%v\n%s", err, tokenUsage)}
	}
	if *token == "" {
		return usageError{errors.New("no token: set --token or DIALER_TOKEN")}
	}
	c := apiClient{base: strings.TrimRight(*url, "/"), token: *token}
	switch sub {
	case "create":
		body, _ := json.Marshal(map[string]any{"name": *name, "workspaces": append([]string{}, ws...), "admin": *admin})
		var out map[string]any
		if err := c.do(ctx, "POST", "/api/v/token/", body, &out); err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(out)
		}
		fmt.Fprintf(stdout, "id:    %v\ntoken: %v\n(the token is shown once: store it now)\n", out["id"], out["token"])
		return nil
	case "list":
		var out []map[string]any
		if err := c.do(ctx, "GET", "/api/v/token/", nil, &out); err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tADMIN\tWORKSPACES\tCREATED")
		for _, t := range out {
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%v\n", t["id"], t["name"], t["admin"], t["workspaces"], t["created_at"])
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return usageError{errors.New(tokenUsage)}
		}
		if err := c.do(ctx, "DELETE", "/api/v/token/"+fs.Arg(0)+"/", nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q\n%s", sub, tokenUsage)}
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

type apiClient struct {
	base, token string
}

// do sends a request and decodes a 2xx JSON answer into out; any other
// answer becomes an error carrying the API's message.
func (c apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, strings.TrimSpace(string(data)))
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}
