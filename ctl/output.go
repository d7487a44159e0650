package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes an answer of the API as one indented document; an empty
// answer (204) writes nothing.
func (x *cli) printJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return &failedError{msg: fmt.Sprintf("the node's answer is not JSON (%v)", err)}
	}
	b.WriteByte('\n')
	_, err := x.stdout.Write(b.Bytes())
	return err
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// table writes rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := newTable(w)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printObject writes a JSON object as "key  value" lines in the API's own
// order: a whole resource for people, every field of it.
func printObject(w io.Writer, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return &failedError{msg: "the node's answer is not a JSON object"}
	}
	tw := newTable(w)
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return &failedError{msg: fmt.Sprintf("the node's answer could not be read (%v)", err)}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return &failedError{msg: fmt.Sprintf("the node's answer could not be read (%v)", err)}
		}
		fmt.Fprintf(tw, "%s\t%s\n", kt, scalar(v))
	}
	return tw.Flush()
}

// scalar shows one JSON value on a line: strings unquoted, null as "-",
// times shortened, arrays of strings comma-separated, anything else compact.
func scalar(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0, string(v) == "null":
		return "-"
	case v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil && strings.Contains(s, "T") {
				return when(t)
			}
			return dash(s)
		}
	case v[0] == '[':
		var ss []string
		if json.Unmarshal(v, &ss) == nil {
			return dash(strings.Join(ss, ","))
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, v) == nil {
		return b.String()
	}
	return string(v)
}

// when shows a time in UTC to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return dash(*s)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// count writes an integer with thousands separators: 1,234,567.
func count[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
