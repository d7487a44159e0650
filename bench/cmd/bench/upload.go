package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// uploadSeed fixes the file: every run of the scenario uploads the same bytes.
const uploadSeed = 1

type uploadResult struct {
	Command  string            `json:"command"`
	Machine  string            `json:"machine"`
	Date     string            `json:"date"`
	LoadAvg  string            `json:"loadavg"` // before the run: the harness cannot keep others off the cores
	File     prospectgen.Stats `json:"file"`
	Generate time.Duration     `json:"generate_ns"`

	// dialerd: Sent is the last byte of the body handed to the connection,
	// Received the 201, Completed the first poll that saw "completed"; all
	// from the first byte sent.
	Sent      time.Duration   `json:"sent_ns"`
	Received  time.Duration   `json:"received_ns"`
	Completed time.Duration   `json:"completed_ns"`
	Status    uploadStatus    `json:"status"`
	CountsOK  bool            `json:"counts_ok"`
	IdleRSS   int64           `json:"idle_rss_kb"`
	PeakRSS   int64           `json:"peak_rss_kb"`
	Error     string          `json:"error,omitempty"`
	Pebble    time.Duration   `json:"pebble_ns"`
	PebbleErr string          `json:"pebble_error,omitempty"`
	Postgres  postgresOutcome `json:"postgres"`
}

// uploadStatus is the body of GET /api/v/upload/{uuid}/.
type uploadStatus struct {
	Status        string          `json:"status"`
	RowsSeen      int             `json:"rows_seen"`
	Accepted      int             `json:"accepted"`
	Duplicates    int             `json:"duplicates"`
	Invalid       int             `json:"invalid"`
	BatchesDone   int             `json:"batches_done"`
	BatchesFailed int             `json:"batches_failed"`
	BatchesTotal  int             `json:"batches_total"`
	Errors        json.RawMessage `json:"errors"`
}

// runUpload measures a CSV upload of rows prospects through one node, from
// the first byte sent to the upload's completion, against what the same
// disk does with the same rows in raw Pebble (the ceiling: no parsing, no
// dedupe, no replication log) and with PostgreSQL's COPY. The three run one
// after the other, so none competes with another for the cores.
func runUpload(ctx context.Context, h *harness, rows int) (string, error) {
	res := uploadResult{
		Command: "make bench BENCHFLAGS='-scenario upload -rows " + strconv.Itoa(rows) + "'",
		Machine: machine(), Date: dialerd.Stopwatch().UTC().Format(time.RFC3339),
	}
	if rows <= 0 {
		return "", fmt.Errorf("-rows %d: want at least one row", rows)
	}
	res.LoadAvg = loadAvg()
	path := filepath.Join(h.dir, "bench.csv")
	err := catch(func() error {
		var err error
		res.File, res.Generate, err = generateCSV(path, rows)
		if err != nil {
			return err
		}
		h.Logf("generated %d rows, %d bytes in %s: %d invalid, %d duplicates, %d to accept",
			res.File.Rows, res.File.Bytes, res.Generate.Round(time.Millisecond), res.File.Invalid, res.File.Duplicates, res.File.Accepted)
		if err := uploadThroughDialerd(ctx, h, path, &res); err != nil {
			// The baselines are still worth having; the scenario fails below.
			res.Error = err.Error()
			h.Logf("dialerd: %v", err)
		}
		if res.Pebble, err = pebbleBaseline(h, path); err != nil {
			res.PebbleErr = err.Error()
		}
		h.Logf("raw Pebble: %s %s", res.Pebble.Round(time.Millisecond), res.PebbleErr)
		res.Postgres = postgresBaseline(ctx, h, path)
		h.Logf("PostgreSQL COPY: %s %s", res.Postgres.Copy.Round(time.Millisecond), res.Postgres.Note)
		return nil
	})
	if err != nil {
		return "", err
	}
	saveJSON("upload", res)
	section := renderUpload(res)
	if res.Error != "" || !res.CountsOK {
		h.Logf("%s", section)
		return "", fmt.Errorf("upload scenario failed: %s", firstOf(res.Error, "counts differ from the generator's"))
	}
	return section, nil
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func generateCSV(path string, rows int) (prospectgen.Stats, time.Duration, error) {
	f, err := os.Create(path)
	if err != nil {
		return prospectgen.Stats{}, 0, err
	}
	start := dialerd.Stopwatch()
	s, err := prospectgen.Write(f, rows, uploadSeed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return s, time.Since(start), err
}

// uploadThroughDialerd starts a node, makes a campaign and a list, uploads
// the file and polls the upload to its end.
func uploadThroughDialerd(ctx context.Context, h *harness, path string, res *uploadResult) error {
	node := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken})
	defer node.Kill() // its compactions would run into the baselines' time
	create := `{"name": "Bench Upload", "workspace": "ws_bench", "locale_name": "USCA"}`
	if _, err := call("POST", node.URL+"/api/v/campaign/", create, 201); err != nil {
		return err
	}
	body, err := call("POST", node.URL+"/api/v/list/", `{"name": "bench", "campaign": "bench-upload"}`, 201)
	if err != nil {
		return err
	}
	var list struct{ Slug string }
	if err := json.Unmarshal(body, &list); err != nil || list.Slug == "" {
		return fmt.Errorf("create list: %s", body)
	}
	res.IdleRSS, _ = procStatusKB(node.Pid(), "VmRSS")
	t, uuid, err := postUpload(ctx, node.URL+"/api/v/upload/"+list.Slug+"/", path)
	if err != nil {
		return err
	}
	res.Sent, res.Received = t.sent.Sub(t.first), t.received.Sub(t.first)
	h.Logf("dialerd: body sent after %s, 201 after %s; upload %s", res.Sent.Round(time.Millisecond), res.Received.Round(time.Millisecond), uuid)
	st, done, err := pollUpload(ctx, h, node.URL+"/api/v/upload/"+uuid+"/")
	res.Status = st
	if err != nil {
		return err
	}
	res.Completed = done.Sub(t.first)
	res.PeakRSS, err = procStatusKB(node.Pid(), "VmHWM")
	if err != nil {
		return err
	}
	f := res.File
	res.CountsOK = st.Status == "completed" && st.Accepted == f.Accepted && st.Duplicates == f.Duplicates && st.Invalid == f.Invalid
	if st.Status != "completed" {
		return fmt.Errorf("upload ended %q: %s", st.Status, st.Errors)
	}
	return nil
}

// uploadTimes are wall-clock instants of one upload request.
type uploadTimes struct{ first, sent, received time.Time }

// postUpload sends the file as the multipart form a browser would: the
// dedupe field, then the file part, streamed from disk with its
// Content-Length known up front (the framing around the file is fixed, so
// it is measured on an empty part, as curl -F does) rather than chunked.
func postUpload(ctx context.Context, url, path string) (uploadTimes, string, error) {
	var t uploadTimes
	f, err := os.Open(path)
	if err != nil {
		return t, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return t, "", err
	}
	head, tail, contentType, err := multipartFraming("bench.csv", map[string]string{"dedupe": "true"})
	if err != nil {
		return t, "", err
	}
	body := &timedReader{r: io.MultiReader(bytes.NewReader(head), f, bytes.NewReader(tail))}
	req, err := http.NewRequestWithContext(ctx, "POST", url, body)
	if err != nil {
		return t, "", err
	}
	req.ContentLength = int64(len(head)) + fi.Size() + int64(len(tail))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Cookie", "access_token="+benchToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return t, "", err
	}
	defer resp.Body.Close()
	t.received = dialerd.Stopwatch()
	t.first, t.sent = body.first, body.last
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		return t, "", fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, bytes.TrimSpace(b))
	}
	var out struct{ Message, UUID, Status string }
	if err := json.Unmarshal(b, &out); err != nil || out.UUID == "" {
		return t, "", fmt.Errorf("POST %s: 201 %s", url, bytes.TrimSpace(b))
	}
	return t, out.UUID, nil
}

// multipartFraming returns what goes before and after the file's bytes in a
// multipart body with the given fields and one file part named "file".
func multipartFraming(filename string, fields map[string]string) (head, tail []byte, contentType string, err error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return nil, nil, "", err
		}
	}
	if _, err := mw.CreateFormFile("file", filename); err != nil {
		return nil, nil, "", err
	}
	head = bytes.Clone(b.Bytes())
	b.Reset()
	if err := mw.Close(); err != nil {
		return nil, nil, "", err
	}
	return head, bytes.Clone(b.Bytes()), mw.FormDataContentType(), nil
}

// timedReader notes when the client first and last read the body: the
// first byte sent and the last, to within a socket buffer.
type timedReader struct {
	r           io.Reader
	first, last time.Time
}

func (t *timedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		now := dialerd.Stopwatch()
		if t.first.IsZero() {
			t.first = now
		}
		t.last = now
	}
	return n, err
}

// pollUpload polls the upload every 50 ms until it completes or fails, and
// returns its last status and when the end was first seen.
func pollUpload(ctx context.Context, h *harness, url string) (uploadStatus, time.Time, error) {
	const every, within = 50 * time.Millisecond, 15 * time.Minute
	deadline := dialerd.Stopwatch().Add(within)
	lastLog := dialerd.Stopwatch()
	var st uploadStatus
	for {
		body, err := call("GET", url, "", 200)
		now := dialerd.Stopwatch()
		if err != nil {
			return st, now, err
		}
		st = uploadStatus{}
		if err := json.Unmarshal(body, &st); err != nil {
			return st, now, fmt.Errorf("GET %s: %s", url, body)
		}
		if st.Status == "completed" || st.Status == "failed" {
			return st, now, nil
		}
		if now.Sub(lastLog) > 5*time.Second {
			h.Logf("dialerd: %s, %d rows seen, batches %d/%d", st.Status, st.RowsSeen, st.BatchesDone, st.BatchesTotal)
			lastLog = now
		}
		if now.After(deadline) {
			return st, now, fmt.Errorf("upload still %q after %s", st.Status, within)
		}
		select {
		case <-ctx.Done():
			return st, now, ctx.Err()
		case <-time.After(every):
		}
	}
}

// procStatusKB reads a field of /proc/<pid>/status given in kB: VmHWM is
// the peak resident set since the process started.
func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

func renderUpload(r uploadResult) string {
	var b strings.Builder
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	fmt.Fprintf(&b, "## CSV upload: one node, %d rows, against raw Pebble and PostgreSQL COPY\n\n", r.File.Rows)
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n", r.Command, r.Machine, r.Date)
	fmt.Fprintf(&b, "- file: %d rows, %.1f MB (bench/prospectgen, seed %d, written in %.2f s): %d invalid numbers, %d duplicates, %d to accept; six phone formats over US and Canadian area codes, quoted notes with commas, quotes and line breaks.\n",
		r.File.Rows, mb(r.File.Bytes), uploadSeed, r.Generate.Seconds(), r.File.Invalid, r.File.Duplicates, r.File.Accepted)
	b.WriteString("- dialerd: one node, default flags, upload with `dedupe=true` to a new list. The baselines store every row of the file, invalid and duplicate ones included: they check nothing.\n")
	fmt.Fprintf(&b, "- each system runs alone, one after the other, on the same disk; all three commit with fsync (dialerd's default, Pebble with `pebble.Sync`, PostgreSQL's defaults). Load average before the run: %s.\n\n", r.LoadAvg)

	b.WriteString("| system | what is timed | time | rows/s | vs dialerd |\n|---|---|---:|---:|---:|\n")
	dialerdTime := "—"
	rate := func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f", float64(r.File.Rows)/d.Seconds())
	}
	if r.Error == "" {
		dialerdTime = fmt.Sprintf("**%.2f s** (receive %.2f s + process %.2f s)", r.Completed.Seconds(), r.Received.Seconds(), (r.Completed - r.Received).Seconds())
	}
	fmt.Fprintf(&b, "| dialerd | first byte sent → upload `completed` (polled every 50 ms) | %s | %s | |\n", dialerdTime, rate(r.Completed))
	ratio := func(d time.Duration) string {
		if d <= 0 || r.Error != "" {
			return "—"
		}
		return fmt.Sprintf("dialerd %.2f×", r.Completed.Seconds()/d.Seconds())
	}
	pebbleTime := fmt.Sprintf("%.2f s", r.Pebble.Seconds())
	if r.PebbleErr != "" {
		pebbleTime = "failed: " + r.PebbleErr
	}
	fmt.Fprintf(&b, "| raw Pebble (the ceiling) | open file → last commit: encoding/csv, a JSON doc + 2 index keys per row, 1000 rows per synced batch | %s | %s | %s |\n", pebbleTime, rate(r.Pebble), ratio(r.Pebble))
	pg := r.Postgres
	pgTime := "not run: " + pg.Note
	if pg.Note == "" {
		pgTime = fmt.Sprintf("%.2f s (%d rows loaded)", pg.Copy.Seconds(), pg.Rows)
	}
	fmt.Fprintf(&b, "| PostgreSQL %s `\\copy … csv header` | the psql command; table with primary key and an index on next_call_at | %s | %s | %s |\n", pg.Version, pgTime, rate(pg.Copy), ratio(pg.Copy))

	b.WriteString("\n### dialerd\n\n")
	if r.Error != "" {
		fmt.Fprintf(&b, "- **failed**: %s\n", r.Error)
	}
	if r.Received > 0 {
		fmt.Fprintf(&b, "- body handed to the connection after %.2f s; 201 after %.2f s; `completed` seen after %.2f s\n", r.Sent.Seconds(), r.Received.Seconds(), r.Completed.Seconds())
	}
	if r.PeakRSS > 0 {
		fmt.Fprintf(&b, "- peak RSS of the dialerd process (VmHWM, whole life of the process): **%.0f MB**; %.0f MB before the upload\n", float64(r.PeakRSS)/1024, float64(r.IdleRSS)/1024)
	}
	st := r.Status
	if st.Status != "" {
		fmt.Fprintf(&b, "- final status `%s`: rows_seen %d, accepted %d, duplicates %d, invalid %d; batches %d done, %d failed of %d\n",
			st.Status, st.RowsSeen, st.Accepted, st.Duplicates, st.Invalid, st.BatchesDone, st.BatchesFailed, st.BatchesTotal)
		fmt.Fprintf(&b, "- counts against the generator (accepted %d, duplicates %d, invalid %d): %s\n", r.File.Accepted, r.File.Duplicates, r.File.Invalid, map[bool]string{true: "match", false: "**differ**"}[r.CountsOK])
	}
	b.WriteString("\n### Targets (issue)\n\n")
	if r.Error == "" {
		fmt.Fprintf(&b, "- end to end ≤ 10 s: %.2f s, %s\n", r.Completed.Seconds(), verdict(r.Completed <= 10*time.Second))
		fmt.Fprintf(&b, "- peak RSS < 500 MB: %.0f MB, %s\n", float64(r.PeakRSS)/1024, verdict(r.PeakRSS < 500*1024))
		if pg.Note == "" {
			fmt.Fprintf(&b, "- stretch, level with COPY (~5.8 s in the issue; %.2f s here): dialerd %.2f×, %s\n", pg.Copy.Seconds(), r.Completed.Seconds()/pg.Copy.Seconds(), verdict(r.Completed <= pg.Copy))
		}
		if r.PebbleErr == "" {
			fmt.Fprintf(&b, "- raw Pebble ceiling (~4.3 s in the issue; %.2f s here): dialerd %.2f× the ceiling\n", r.Pebble.Seconds(), r.Completed.Seconds()/r.Pebble.Seconds())
		}
	} else {
		b.WriteString("- not assessed: the dialerd upload failed. Targets: ≤ 10 s end to end, peak RSS < 500 MB; stretch: level with COPY (~5.8 s); raw Pebble ceiling ~4.3 s.\n")
	}
	return b.String()
}
