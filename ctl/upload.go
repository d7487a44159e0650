package ctl

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dialerd/dialerd"
)

func uploadCmd() *command {
	send := &command{name: "upload", args: "FILE", summary: "upload a CSV of prospects to a list, with progress and a summary", minArgs: 1, maxArgs: 1, setup: uploadFile,
		long: "The file is streamed to the node (progress: bytes sent); once the node has stored it, its rows are\n" +
			"processed in batches (progress: rows), and a summary closes: accepted, duplicates, invalid,\n" +
			"do_not_call and the first row errors. Progress goes to standard error: a bar on a terminal,\n" +
			"otherwise a line a second. An upload that ends failed exits 6: 'dialerctl upload retry UUID'\n" +
			"runs its unfinished batches again. Name a file called get or retry ./get, ./retry.",
		examples: []string{
			"dialerctl upload prospects.csv --list february-list",
			"dialerctl upload prospects.csv --list february-list --dedupe=false --json",
		}}
	return &command{name: "upload", aliases: []string{"uploads"}, summary: "upload a CSV of prospects (progress, summary); show or retry an upload",
		dflt: send,
		subs: []*command{
			{name: "get", args: "UUID", summary: "an upload's progress and results", minArgs: 1, maxArgs: 1, setup: uploadGet,
				examples: []string{"dialerctl upload get 550e8400-e29b-41d4-a716-446655440000"}},
			{name: "retry", args: "UUID", summary: "run a failed upload's unfinished batches again, and follow it", minArgs: 1, maxArgs: 1, setup: uploadRetry,
				examples: []string{"dialerctl upload retry 550e8400-e29b-41d4-a716-446655440000"}},
		}}
}

// followFlags are the flags of commands that follow an upload's rows.
type followFlags struct {
	wait   *bool
	poll   *time.Duration
	quiet  *bool
	errors *int
}

func addFollowFlags(fs *flag.FlagSet) followFlags {
	return followFlags{
		wait:   fs.Bool("wait", true, "follow the rows until the upload is done (--wait=false: return once the file is stored)"),
		poll:   fs.Duration("poll", 500*time.Millisecond, "how often to ask the node for the upload's progress"),
		quiet:  fs.Bool("quiet", false, "draw no progress"),
		errors: fs.Int("errors", 10, "row errors the summary shows"),
	}
}

func uploadFile(fs *flag.FlagSet) runFunc {
	list := fs.String("list", "", "the list the prospects go to, by slug or UUID (required): `LIST`")
	dedupe := fs.Bool("dedupe", true, "skip numbers already in the campaign within dupe_days or repeated in the file")
	ff := addFollowFlags(fs)
	return func(ctx context.Context, x *cli, args []string) error {
		if *list == "" {
			return usagef(x.path, "--list is required: the list the prospects go to")
		}
		if *ff.poll <= 0 {
			return usagef(x.path, "--poll must be positive")
		}
		f, err := os.Open(args[0])
		if err != nil {
			return usagef(x.path, "%v", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return usagef(x.path, "%v", err)
		}
		if !st.Mode().IsRegular() {
			return usagef(x.path, "%s is not a regular file", args[0])
		}
		// Ask for the list first: a node refusing an upload (no such list,
		// the token) closes the connection while the file is still being
		// sent, which loses its answer.
		if _, err := x.api.get(ctx, listPath(*list), listWhat(*list)); err != nil {
			return err
		}
		p := x.newProgress(*ff.quiet)
		data, err := x.sendFile(ctx, p, call{method: "POST", path: "upload/" + seg(*list) + "/", what: listWhat(*list)},
			f, st.Size(), filepath.Base(args[0]), []formField{{"dedupe", strconv.FormatBool(*dedupe)}})
		if err != nil {
			return err
		}
		var created struct{ UUID, Status string }
		if err := decode(data, &created); err != nil {
			return err
		}
		if !*ff.wait {
			if x.g.json {
				return x.printJSON(data)
			}
			fmt.Fprintf(x.stdout, "Stored as upload %s (%s); follow it with: dialerctl upload get %s\n", created.UUID, created.Status, created.UUID)
			return nil
		}
		return x.followUpload(ctx, p, created.UUID, ff)
	}
}

type formField struct{ name, value string }

// switchWriter lets one multipart writer write a form's head and tail to
// two buffers, the file streamed between them.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(b []byte) (int, error) { return s.w.Write(b) }

// sendFile streams file as part "file" of a multipart form (then fields)
// with an exact Content-Length, drawing the bytes sent. The request is not
// bounded by --timeout as a whole (a large file takes long), but it is
// abandoned when no byte moves, or no answer comes after the last byte,
// for that long.
func (x *cli) sendFile(ctx context.Context, p *progress, cl call, file io.Reader, size int64, filename string, fields []formField) ([]byte, error) {
	var head, tail bytes.Buffer
	out := &switchWriter{w: &head}
	mw := multipart.NewWriter(out)
	if _, err := mw.CreateFormFile("file", filename); err != nil {
		return nil, err
	}
	out.w = &tail // the file's bytes go between head and tail
	for _, fld := range fields {
		if err := mw.WriteField(fld.name, fld.value); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	cr := &countingReader{r: file}
	cl.body = io.MultiReader(bytes.NewReader(head.Bytes()), cr, bytes.NewReader(tail.Bytes()))
	cl.size = int64(head.Len()) + size + int64(tail.Len())
	cl.ctype = mw.FormDataContentType()
	cl.long = true
	return x.sendWatched(ctx, p, cl, cr, size)
}

// sendWatched sends cl, whose body reads through cr (size bytes), drawing
// progress until the answer comes.
func (x *cli) sendWatched(ctx context.Context, p *progress, cl call, cr *countingReader, size int64) ([]byte, error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type answer struct {
		data []byte
		err  error
	}
	done := make(chan answer, 1)
	p.Bytes("sending", 0, size, false)
	go func() {
		data, err := x.api.send(sctx, cl)
		done <- answer{data, err}
	}()
	tick := 100 * time.Millisecond
	last, lastMove := int64(-1), x.clock.Now()
	for {
		ch, stop := x.after(tick)
		select {
		case a := <-done:
			stop()
			n := cr.n.Load()
			if a.err == nil {
				p.Bytes("sending", n, size, true)
				return a.data, nil
			}
			p.end()
			var ne *netError
			if errors.As(a.err, &ne) && ne.timeout == 0 && n > 0 && n < size {
				return nil, &failedError{msg: fmt.Sprintf("the node closed the connection after %s of %s were sent (%v): it refuses a file at once when its header names no phone column or the file is too large, and then its answer can be lost; or it failed",
					humanBytes(float64(n)), humanBytes(float64(size)), ne.err)}
			}
			return nil, a.err
		case <-ch:
			n := cr.n.Load()
			p.Bytes("sending", n, size, false)
			now := x.clock.Now()
			if n != last {
				last, lastMove = n, now
			} else if x.g.timeout > 0 && now.Sub(lastMove) > x.g.timeout {
				cancel(&netError{url: x.api.base, timeout: x.g.timeout, err: fmt.Errorf("stalled")})
			}
		}
	}
}

// newProgress draws on standard error, or nowhere when quiet.
func (x *cli) newProgress(quiet bool) *progress {
	w := x.stderr
	if quiet {
		w = io.Discard
	}
	return newProgress(w, x.stderrTTY && !quiet, x.clock.Now)
}

// maxPollFailures is how many polls in a row may fail (the node
// restarting, a shard moving) before the follow gives up.
const maxPollFailures = 10

// followUpload draws the rows processed until the upload is completed or
// failed, then writes its summary (or with --json its document).
func (x *cli) followUpload(ctx context.Context, p *progress, uuid string, ff followFlags) error {
	var data []byte
	var up dialerd.Upload
	for failures := 0; ; {
		d, err := x.api.get(ctx, "upload/"+seg(uuid)+"/", uploadWhat(uuid))
		if err != nil {
			if failures++; !transient(err) || failures >= maxPollFailures {
				p.end()
				return err
			}
		} else {
			failures = 0
			data = d
			if err := decode(d, &up); err != nil {
				return err
			}
			final := up.Status == dialerd.UploadCompleted || up.Status == dialerd.UploadFailed
			if up.Status == dialerd.UploadFailed {
				p.Rows("rows", up.RowsSeen, up.BytesDone, up.Bytes, false)
				p.end()
			} else {
				p.Rows("rows", up.RowsSeen, up.BytesDone, up.Bytes, final)
			}
			if final {
				break
			}
		}
		if err := x.sleep(ctx, *ff.poll); err != nil {
			p.end()
			return err
		}
	}
	if x.g.json {
		if err := x.printJSON(data); err != nil {
			return err
		}
	} else {
		uploadSummary(x.stdout, up, *ff.errors)
	}
	if up.Status == dialerd.UploadFailed {
		return &failedError{msg: fmt.Sprintf("upload %s failed: %s\nRun 'dialerctl upload retry %s' to run its unfinished batches again.", up.UUID, orElse(up.Reason, "no reason given"), up.UUID)}
	}
	return nil
}

func uploadWhat(uuid string) string { return fmt.Sprintf("upload %q", uuid) }

// uploadSummary writes what an upload did:
//
//	Upload 6b1f… (prospects.csv) to list 0b3e…, campaign feb: completed.
//	  rows          5,000
//	  accepted      4,700
//	  ...
//	First row errors (2 of 50):
//	  ROW  LINE  COLUMN  REASON
func uploadSummary(w io.Writer, up dialerd.Upload, maxErrors int) {
	fmt.Fprintf(w, "Upload %s (%s) to list %s, campaign %s: %s", up.UUID, dash(up.Filename), up.List, up.Campaign, up.Status)
	if up.Reason != "" {
		fmt.Fprintf(w, " (%s)", up.Reason)
	}
	fmt.Fprintln(w, ".")
	rows := [][]string{
		{"  rows", count(up.RowsSeen)},
		{"  accepted", count(up.Accepted)},
		{"  duplicates", count(up.Duplicates)},
		{"  invalid", count(up.Invalid)},
		{"  do_not_call", count(up.DoNotCall)},
	}
	if up.Status != dialerd.UploadCompleted {
		total := "?"
		if up.BatchesTotal != nil {
			total = strconv.Itoa(*up.BatchesTotal)
		}
		rows = append(rows, []string{"  batches", fmt.Sprintf("%d done, %d failed, of %s", up.BatchesDone, up.BatchesFailed, total)},
			[]string{"  bytes", fmt.Sprintf("%s of %s", humanBytes(float64(up.BytesDone)), humanBytes(float64(up.Bytes)))})
	}
	width := 0
	for _, r := range rows[:5] {
		width = max(width, len(r[1]))
	}
	tw := newTable(w)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%*s\n", r[0], width, r[1])
	}
	tw.Flush()
	if len(up.Errors) == 0 || maxErrors <= 0 {
		return
	}
	shown := up.Errors
	if len(shown) > maxErrors {
		shown = shown[:maxErrors]
	}
	fmt.Fprintf(w, "First row errors (%d of %s):\n", len(shown), count(up.Invalid))
	tw = newTable(w)
	fmt.Fprintf(tw, "  ROW\tLINE\tCOLUMN\tREASON\n")
	for _, e := range shown {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\n", e.Row, e.Line, dash(e.Column), e.Reason)
	}
	tw.Flush()
}

func uploadGet(fs *flag.FlagSet) runFunc {
	nerr := fs.Int("errors", 10, "row errors to show")
	return func(ctx context.Context, x *cli, args []string) error {
		data, err := x.api.get(ctx, "upload/"+seg(args[0])+"/", uploadWhat(args[0]))
		if err != nil {
			return err
		}
		up, printed, err := decodeAnswer[dialerd.Upload](x, data)
		if err != nil || printed {
			return err
		}
		uploadSummary(x.stdout, up, *nerr)
		return nil
	}
}

func uploadRetry(fs *flag.FlagSet) runFunc {
	ff := addFollowFlags(fs)
	return func(ctx context.Context, x *cli, args []string) error {
		if *ff.poll <= 0 {
			return usagef(x.path, "--poll must be positive")
		}
		data, err := x.api.send(ctx, call{method: "POST", path: "upload/" + seg(args[0]) + "/retry/", what: uploadWhat(args[0])})
		if err != nil {
			return err
		}
		if !*ff.wait {
			if x.g.json {
				return x.printJSON(data)
			}
			fmt.Fprintf(x.stdout, "Upload %s runs again; follow it with: dialerctl upload get %s\n", args[0], args[0])
			return nil
		}
		return x.followUpload(ctx, x.newProgress(*ff.quiet), args[0], ff)
	}
}
