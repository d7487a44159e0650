package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// Uploads: POST /api/v/upload/{list}/ (multipart: part "file", optional
// "dedupe"), GET /api/v/upload/{uuid}/, POST /api/v/upload/{uuid}/retry/.

// on returns the client for another (sub)test: a client fails the test it
// belongs to, which must be the goroutine's own.
func (c client) on(t *testing.T) client {
	c.t = t
	return c
}

// formField is one plain multipart form field.
type formField struct{ name, value string }

// uploadForm is a multipart body: fields before the file part, the file
// part (none when file is nil), fields after it. The file is streamed, never
// copied: size must be its exact length.
type uploadForm struct {
	before, after []formField
	filename      string
	file          io.Reader
	size          int64
}

// csvForm is the reference's `curl -F file=@prospects.csv -F dedupe=…`:
// the file, then dedupe ("" leaves it out).
func csvForm(data []byte, dedupe string) uploadForm {
	f := uploadForm{filename: "prospects.csv", file: bytes.NewReader(data), size: int64(len(data))}
	if dedupe != "" {
		f.after = []formField{{"dedupe", dedupe}}
	}
	return f
}

// encode returns the form's content type, body and exact length.
func (f uploadForm) encode() (string, io.Reader, int64) {
	var head, tail bytes.Buffer
	out := &switchWriter{w: &head}
	w := multipart.NewWriter(out)
	for _, x := range f.before {
		w.WriteField(x.name, x.value)
	}
	if f.file != nil {
		if _, err := w.CreateFormFile("file", f.filename); err != nil {
			panic(err)
		}
		out.w = &tail // the file's bytes go between head and tail
	}
	for _, x := range f.after {
		w.WriteField(x.name, x.value)
	}
	w.Close()
	if f.file == nil {
		return w.FormDataContentType(), &head, int64(head.Len())
	}
	return w.FormDataContentType(), io.MultiReader(&head, f.file, &tail), int64(head.Len()) + f.size + int64(tail.Len())
}

type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// postUpload sends form to POST /api/v/upload/{list}/. The body is written
// on a connection of its own while the answer is read: the server answers a
// file it refuses (and closes) without reading the rest of it, which a
// client that writes first and reads after would miss.
func postUpload(t *testing.T, c client, list string, f uploadForm) response {
	t.Helper()
	ct, body, size := f.encode()
	head := fmt.Sprintf("POST /api/v/upload/%s/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %d\r\n", list, ct, size)
	if c.token != "" {
		head += "Cookie: access_token=" + c.token + "\r\n"
	}
	return sendRaw(t, c, head+"\r\n", body)
}

func sendRaw(t *testing.T, c client, head string, body io.Reader) response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if _, err := io.WriteString(conn, head); err == nil {
			io.Copy(conn, body) // fails once the server closes: ignored
		}
	}()
	defer func() {
		conn.Close()
		<-wrote
	}()
	conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", strings.SplitN(head, "\r\n", 2)[0], err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Body: b, Header: res.Header}
}

// uploadCSV uploads data to list with the reference's form and returns the
// upload's uuid; it fails the test unless the answer is 201.
func uploadCSV(t *testing.T, c client, list string, data []byte, dedupe string) string {
	t.Helper()
	r := postUpload(t, c, list, csvForm(data, dedupe))
	expect(t, r, 201)
	id, _ := r.JSON(t)["uuid"].(string)
	if len(id) != 36 {
		t.Fatalf("upload answer without a uuid: %s", r.Body)
	}
	return id
}

type rowError struct {
	Row    int    `json:"row"`
	Line   int    `json:"line"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// uploadDoc is GET /api/v/upload/{uuid}/.
type uploadDoc struct {
	UUID          string     `json:"uuid"`
	List          string     `json:"list"`
	Campaign      string     `json:"campaign"`
	Locale        string     `json:"locale"`
	Filename      string     `json:"filename"`
	Bytes         int64      `json:"bytes"`
	Chunks        int        `json:"chunks"`
	Dedupe        bool       `json:"dedupe"`
	Status        string     `json:"status"`
	Reason        string     `json:"reason"`
	RowsSeen      int        `json:"rows_seen"`
	Accepted      int        `json:"accepted"`
	Duplicates    int        `json:"duplicates"`
	Invalid       int        `json:"invalid"`
	DoNotCall     int        `json:"do_not_call"`
	Errors        []rowError `json:"errors"`
	BytesDone     int64      `json:"bytes_done"`
	BatchesTotal  *int       `json:"batches_total"`
	BatchesDone   int        `json:"batches_done"`
	BatchesFailed int        `json:"batches_failed"`
	Runs          int        `json:"runs"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FinishedAt    *time.Time `json:"finished_at"`
}

func (u uploadDoc) counts() string {
	total := "null"
	if u.BatchesTotal != nil {
		total = strconv.Itoa(*u.BatchesTotal)
	}
	return fmt.Sprintf("status %s, rows_seen %d = accepted %d + duplicates %d + invalid %d; batches %d done, %d failed of %s; runs %d; reason %q",
		u.Status, u.RowsSeen, u.Accepted, u.Duplicates, u.Invalid, u.BatchesDone, u.BatchesFailed, total, u.Runs, u.Reason)
}

func getUpload(t *testing.T, c client, id string) uploadDoc {
	t.Helper()
	r := c.do("GET", "/api/v/upload/"+id+"/", "")
	expect(t, r, 200)
	var u uploadDoc
	if err := json.Unmarshal(r.Body, &u); err != nil {
		t.Fatalf("upload %s: %v: %s", id, err, r.Body)
	}
	return u
}

// waitUpload polls an upload until it is no longer processing, for at most
// a minute, and returns it.
func waitUpload(t *testing.T, c client, id string) uploadDoc {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		u := getUpload(t, c, id)
		if u.Status != "processing" {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload %s still processing after a minute: %s", id, u.counts())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func retryUpload(t *testing.T, c client, id string) response {
	t.Helper()
	return c.do("POST", "/api/v/upload/"+id+"/retry/", "")
}

// prospectDoc is a prospect as the list's prospects page shows it.
type prospectDoc struct {
	ID           string            `json:"id"`
	List         string            `json:"list"`
	PrimaryPhone string            `json:"primary_phone"`
	FirstName    string            `json:"first_name"`
	LastName     string            `json:"last_name"`
	Email        string            `json:"email"`
	State        string            `json:"state"`
	Zip          string            `json:"zip"`
	Timezones    []string          `json:"timezones"`
	Fields       map[string]string `json:"fields"`
	Status       string            `json:"status"`
	Attempts     int               `json:"attempts"`
	CreatedAt    string            `json:"created_at"`
}

// prospectKey is what makes a prospect unique: decoding no more of it
// keeps paging through a large list quick under the race detector.
type prospectKey struct {
	ID           string `json:"id"`
	PrimaryPhone string `json:"primary_phone"`
}

// listProspects pages through every prospect of a list, 1000 at a time.
func listProspects(t *testing.T, c client, list string) []prospectDoc {
	t.Helper()
	return pageProspects[prospectDoc](t, c, list)
}

func pageProspects[P any](t *testing.T, c client, list string) []P {
	t.Helper()
	var all []P
	cursor := ""
	for {
		r := c.do("GET", fmt.Sprintf("/api/v/list/%s/prospects/?limit=1000&cursor=%s", list, cursor), "")
		expect(t, r, 200)
		var page struct {
			Results    []P    `json:"results"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatalf("prospects page: %v: %.300s", err, r.Body)
		}
		all = append(all, page.Results...)
		if page.NextCursor == "" {
			return all
		}
		if page.NextCursor == cursor || len(page.Results) == 0 {
			t.Fatalf("prospects of %s: cursor %q does not move on", list, cursor)
		}
		cursor = page.NextCursor
	}
}

// checkUnique fails the test if a phone or an id appears twice.
func checkUnique(t *testing.T, ps []prospectKey) {
	t.Helper()
	phones, ids := map[string]int{}, map[string]int{}
	twice := 0
	for _, p := range ps {
		phones[p.PrimaryPhone]++
		ids[p.ID]++
		if phones[p.PrimaryPhone] == 2 {
			twice++
			if twice <= 5 {
				t.Errorf("phone %s is in the list twice", p.PrimaryPhone)
			}
		}
		if ids[p.ID] == 2 {
			t.Errorf("id %s is listed twice", p.ID)
		}
	}
	if twice > 0 {
		t.Errorf("%d phones of %d prospects are in the list more than once", twice, len(ps))
	}
}

// newList creates a campaign (JSON body) and a list in it, and returns the
// list's uuid.
func newList(t *testing.T, c client, campaign, slug, list string) string {
	t.Helper()
	if campaign != "" {
		r := c.do("POST", "/api/v/campaign/", campaign)
		expect(t, r, 201)
		if got := r.JSON(t)["slug"]; got != slug {
			t.Fatalf("campaign slug %v, want %s", got, slug)
		}
	}
	r := c.do("POST", "/api/v/list/", fmt.Sprintf(`{"name": %q, "campaign": %q}`, list, slug))
	expect(t, r, 201)
	return r.JSON(t)["uuid"].(string)
}

// testSeed is a seed for random inputs: UPLOAD_SEED when set (to replay a
// failure), else a fresh one. It is logged.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("UPLOAD_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("UPLOAD_SEED: %v", err)
		}
	}
	t.Logf("seed %d (set UPLOAD_SEED=%d to replay)", seed, seed)
	return seed
}

// genCSV is a prospectgen file and what an upload with dedupe must make of it.
func genCSV(t *testing.T, rows int, seed uint64) ([]byte, prospectgen.Stats) {
	t.Helper()
	var b bytes.Buffer
	s, err := prospectgen.Write(&b, rows, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prospectgen: %d rows (seed %d), %d bytes: %d invalid, %d duplicates, %d to accept", s.Rows, seed, s.Bytes, s.Invalid, s.Duplicates, s.Accepted)
	return b.Bytes(), s
}

func csvLines(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

// checkCompleted fails the test unless u is completed with these counts,
// every row counted once.
func checkCompleted(t *testing.T, u uploadDoc, rows, accepted, duplicates, invalid int) {
	t.Helper()
	if u.Status != "completed" || u.RowsSeen != rows || u.Accepted != accepted || u.Duplicates != duplicates || u.Invalid != invalid {
		t.Fatalf("upload %s: %s; want completed, rows_seen %d = accepted %d + duplicates %d + invalid %d",
			u.UUID, u.counts(), rows, accepted, duplicates, invalid)
	}
	if u.RowsSeen != u.Accepted+u.Duplicates+u.Invalid {
		t.Fatalf("upload %s: counts do not add up: %s", u.UUID, u.counts())
	}
}

func TestUploadReferenceExamples(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	list := newList(t, admin, `{"name": "Reference", "workspace": "ws_ref"}`, "reference", "February List")
	file := csvLines(
		"phone,first_name,last_name,email",
		"+14155551234,John,Smith,john@example.com",
		"(212) 555-0199,Ann,Lee,",
		"212-555-0199,Ann,Again,", // the same number: a duplicate
		"12345,Not,Aphone,",
	)

	// curl -F file=@prospects.csv -F dedupe=true …/upload/february-list/
	r := postUpload(t, admin, "february-list", csvForm(file, "true"))
	expect(t, r, 201)
	created := r.JSON(t)
	id, _ := created["uuid"].(string)
	if len(created) != 3 || created["message"] != "Uploaded successfully." || created["status"] != "processing" || len(id) != 36 {
		t.Fatalf("upload answer: %s, want exactly message, uuid and status", r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("upload answer content type %q", ct)
	}

	// GET until completed: every documented field, every row counted.
	u := waitUpload(t, admin, id)
	checkCompleted(t, u, 4, 2, 1, 1)
	raw := admin.do("GET", "/api/v/upload/"+id+"/", "").JSON(t)
	for _, k := range []string{"uuid", "list", "campaign", "locale", "filename", "bytes", "chunks", "dedupe", "status",
		"rows_seen", "accepted", "duplicates", "invalid", "errors", "bytes_done", "batches_total", "batches_done",
		"batches_failed", "runs", "created_at", "updated_at", "finished_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("GET upload lacks %q", k)
		}
	}
	if _, ok := raw["reason"]; ok {
		t.Errorf("a completed upload has a reason: %v", raw["reason"])
	}
	if u.UUID != id || u.List != list || u.Campaign != "reference" || u.Locale != "USCA" || u.Filename != "prospects.csv" ||
		u.Bytes != int64(len(file)) || u.Chunks != 1 || !u.Dedupe || u.BytesDone != int64(len(file)) ||
		u.BatchesTotal == nil || *u.BatchesTotal != 1 || u.BatchesDone != 1 || u.BatchesFailed != 0 || u.Runs != 1 {
		t.Errorf("completed upload: %s", raw)
	}
	if u.FinishedAt == nil || u.CreatedAt.IsZero() || u.FinishedAt.Before(u.CreatedAt) || u.UpdatedAt.Before(u.CreatedAt) {
		t.Errorf("upload times: created %v, updated %v, finished %v", u.CreatedAt, u.UpdatedAt, u.FinishedAt)
	}
	if len(u.Errors) != 1 || u.Errors[0].Row != 5 || u.Errors[0].Line != 5 || u.Errors[0].Column != "phone" || u.Errors[0].Reason == "" {
		t.Errorf("errors: %+v, want row 5, line 5, column phone", u.Errors)
	}
	ps := listProspects(t, admin, list)
	if len(ps) != 2 || ps[0].PrimaryPhone != "+14155551234" || ps[0].FirstName != "John" || ps[1].PrimaryPhone != "+12125550199" || ps[1].LastName != "Lee" {
		t.Fatalf("prospects after the upload: %+v", ps)
	}

	// Retry of a completed upload: 409, nothing runs again.
	r = retryUpload(t, admin, id)
	expect(t, r, 409)
	if m := r.JSON(t); m["success"] != false || m["detail"] == nil || m["detail"] == "" {
		t.Fatalf("retry of a completed upload: %s", r.Body)
	}
	if again := getUpload(t, admin, id); again.Status != "completed" || again.Runs != 1 || again.Accepted != 2 {
		t.Fatalf("after a refused retry: %s", again.counts())
	}

	// The list by uuid works as well as by slug; dedupe defaults to true
	// (the same numbers again are duplicates).
	again := waitUpload(t, admin, uploadCSV(t, admin, list, file, ""))
	checkCompleted(t, again, 4, 0, 3, 1)
	if !again.Dedupe {
		t.Errorf("dedupe left out: %v, want true", again.Dedupe)
	}
}

func TestUploadFixtureCounts(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	file, err := os.ReadFile("testdata/uploads/awkward.csv")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture must keep its BOM, CRLF line ends and missing final line
	// end (an editor or git settings could strip them).
	if !bytes.HasPrefix(file, []byte("\ufeff")) || bytes.Count(file, []byte("\r\n")) != 18 || bytes.HasSuffix(file, []byte("\n")) {
		t.Fatalf("testdata/uploads/awkward.csv lost its BOM or CRLF line ends (%d CRLF)", bytes.Count(file, []byte("\r\n")))
	}
	list := newList(t, admin, `{"name": "Fixtures", "workspace": "ws_fix"}`, "fixtures", "Awkward")

	u := waitUpload(t, admin, uploadCSV(t, admin, list, file, "true"))
	// 16 data rows (an empty line is no row): rows 9-12, 14, 15 invalid,
	// row 13 repeats row 2's number in another format.
	checkCompleted(t, u, 16, 9, 1, 6)
	want := []rowError{
		{Row: 9, Line: 11, Column: "Phone Number"},
		{Row: 10, Line: 12, Column: "Province"},
		{Row: 11, Line: 13, Column: "TimeZone"},
		{Row: 12, Line: 14, Column: ""},
		{Row: 14, Line: 16, Column: "Phone Number"},
		{Row: 14, Line: 16, Column: "Province"},
		{Row: 14, Line: 16, Column: "TimeZone"},
		{Row: 15, Line: 17, Column: ""},
	}
	got := make([]rowError, len(u.Errors))
	for i, e := range u.Errors {
		if e.Reason == "" {
			t.Errorf("error %+v has no reason", e)
		}
		got[i] = rowError{Row: e.Row, Line: e.Line, Column: e.Column}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors (row, line, column):\n got %+v\nwant %+v\nfull: %+v", got, want, u.Errors)
	}
	if len(u.Errors) == len(want) && !strings.Contains(u.Errors[3].Reason, "fields") {
		t.Errorf("reason for a row with 3 fields of 8: %q", u.Errors[3].Reason)
	}

	// The prospects, in file order, as stored.
	ps := listProspects(t, admin, list)
	type stored struct {
		phone, first, last, email, state, zip string
		zones                                 []string
		notes                                 string
	}
	la, ny, ca := []string{"America/Los_Angeles"}, []string{"America/New_York"}, "CA"
	wantPs := []stored{
		{"+14155551234", "John", "Smith", "john@example.com", ca, "94105", la, "Gold, annual"},
		{"+12125550199", `Ann "Jr"`, "Lee", "", "NY", "", ny, `Said "call me", twice`},
		{"+12125550100", "Bob", "Jones", "", "NY", "", ny, "line one\nline two"},
		{"+14155550150", "Nina", "York", "", "NY", "", ny, ""},                    // explicit state wins over the number's
		{"+13105550100", "Carol", "", "", ca, "", []string{"America/Denver"}, ""}, // explicit time zone
		{"+16045550123", "Dan", "Tremblay", "", "BC", "V6B 1A1", []string{"America/Vancouver"}, ""},
		{"+14155550111", "Eve", "", "", ca, "", la, ""},
		{"+15145550100", "Zoé", "Côté", "", "QC", "", []string{"America/Toronto"}, ""},
		{"+14155550116", "Last", "Row", "", ca, "", la, ""},
	}
	if len(ps) != len(wantPs) {
		t.Fatalf("list holds %d prospects, want %d: %+v", len(ps), len(wantPs), ps)
	}
	for i, w := range wantPs {
		p := ps[i]
		g := stored{p.PrimaryPhone, p.FirstName, p.LastName, p.Email, p.State, p.Zip, p.Timezones, p.Fields["Policy Notes"]}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("prospect %d:\n got %+v\nwant %+v", i+1, g, w)
		}
		for k := range p.Fields {
			if k != "Policy Notes" {
				t.Errorf("prospect %d: a standard column leaked into fields: %q", i+1, k)
			}
		}
		if p.List != list || p.Status != "unresolved" || p.Attempts != 0 || p.ID == "" {
			t.Errorf("prospect %d: %+v", i+1, p)
		}
	}

	// No phone column: 400 naming file at once, nothing stored.
	r := postUpload(t, admin, list, csvForm(csvLines("first_name,last_name,mobile", "Ann,Lee,+14155550100"), "true"))
	expect(t, r, 400)
	if _, ok := r.JSON(t)["file"]; !ok {
		t.Errorf("no phone column: 400 does not name file: %s", r.Body)
	}
	empty := newList(t, admin, "", "fixtures", "Empty")
	r = postUpload(t, admin, empty, csvForm(csvLines("first_name,last_name", "Ann,Lee"), ""))
	expect(t, r, 400)
	if _, ok := r.JSON(t)["file"]; !ok {
		t.Errorf("no phone column: 400 does not name file: %s", r.Body)
	}
	if ps := listProspects(t, admin, empty); len(ps) != 0 {
		t.Fatalf("a refused file left prospects: %+v", ps)
	}

	// Only a header: completed, no rows.
	u = waitUpload(t, admin, uploadCSV(t, admin, empty, []byte("Phone_Number,First Name\r\n"), "true"))
	checkCompleted(t, u, 0, 0, 0, 0)
	if u.Errors == nil || len(u.Errors) != 0 || u.BatchesTotal == nil || *u.BatchesTotal != 0 {
		t.Errorf("header-only upload: errors %v, batches_total %v", u.Errors, u.BatchesTotal)
	}
	if ps := listProspects(t, admin, empty); len(ps) != 0 {
		t.Fatalf("a header-only file made prospects: %+v", ps)
	}
}

func TestUploadDedupe(t *testing.T) {
	t.Parallel()
	t.Run("rules", func(t *testing.T) {
		t.Parallel()
		_, admin := startNode(t)
		a := newList(t, admin, `{"name": "Dedupe", "workspace": "ws_dd", "dupe_days": 30}`, "dedupe", "A")
		b := newList(t, admin, "", "dedupe", "B")
		c := newList(t, admin, "", "dedupe", "C")
		d := newList(t, admin, `{"name": "Nodupe", "workspace": "ws_dd", "dupe_days": -1}`, "nodupe", "D")
		e := newList(t, admin, "", "nodupe", "E")
		first := csvLines(
			"phone,first_name",
			"+14155550101,first-1",
			"(415) 555-0102,first-2",
			"415.555.0101,again-1", // row 2's number, another format
			"+1 415 555 0103,first-3",
			"14155550102,again-2",
		)
		phonesOf := func(list string) (phones, names []string) {
			for _, p := range listProspects(t, admin, list) {
				phones, names = append(phones, p.PrimaryPhone), append(names, p.FirstName)
			}
			return phones, names
		}

		// Within a file: the first occurrence is kept.
		checkCompleted(t, waitUpload(t, admin, uploadCSV(t, admin, a, first, "true")), 5, 3, 2, 0)
		phones, names := phonesOf(a)
		if !reflect.DeepEqual(phones, []string{"+14155550101", "+14155550102", "+14155550103"}) || !reflect.DeepEqual(names, []string{"first-1", "first-2", "first-3"}) {
			t.Fatalf("list A: %v %v", phones, names)
		}
		// Across lists of the campaign.
		second := csvLines("phone,first_name", "+14155550102,b-2", "+14155550103,b-3", "+14155550104,b-4", "+14155550105,b-5")
		checkCompleted(t, waitUpload(t, admin, uploadCSV(t, admin, b, second, "")), 4, 2, 2, 0)
		if phones, names := phonesOf(b); !reflect.DeepEqual(phones, []string{"+14155550104", "+14155550105"}) || !reflect.DeepEqual(names, []string{"b-4", "b-5"}) {
			t.Fatalf("list B: %v %v", phones, names)
		}
		// dedupe=false (sent before the file this time): nothing is a
		// duplicate, not even within the file.
		r := postUpload(t, admin, c, uploadForm{before: []formField{{"dedupe", "false"}}, filename: "x.csv", file: bytes.NewReader(first), size: int64(len(first))})
		expect(t, r, 201)
		u := waitUpload(t, admin, r.JSON(t)["uuid"].(string))
		checkCompleted(t, u, 5, 5, 0, 0)
		if u.Dedupe {
			t.Errorf("dedupe=false recorded as %v", u.Dedupe)
		}
		if phones, _ := phonesOf(c); len(phones) != 5 {
			t.Fatalf("list C (dedupe=false): %v", phones)
		}
		// dupe_days -1: nothing is a duplicate, in a file or across lists.
		checkCompleted(t, waitUpload(t, admin, uploadCSV(t, admin, d, first, "true")), 5, 5, 0, 0)
		checkCompleted(t, waitUpload(t, admin, uploadCSV(t, admin, e, first, "true")), 5, 5, 0, 0)
		// The numbers uploaded with dedupe off still count for later
		// uploads with it on.
		checkCompleted(t, waitUpload(t, admin, uploadCSV(t, admin, b, csvLines("phone", "+14155550101"), "true")), 1, 0, 1, 0)
	})

	t.Run("after dupe_days", func(t *testing.T) {
		t.Parallel()
		// A virtual day is 86400 s / 20000 ≈ 4.3 s of wall time.
		n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{"--clock", "virtual", "--clock-speed", "20000"}})
		admin := client{t: t, url: n.URL, token: boot}
		a := newList(t, admin, `{"name": "Daily", "workspace": "ws_day", "dupe_days": 1}`, "daily", "A")
		b := newList(t, admin, "", "daily", "B")
		c := newList(t, admin, "", "daily", "C")
		lines := []string{"phone,first_name"}
		for i := 0; i < 50; i++ {
			lines = append(lines, fmt.Sprintf("+1415555%04d,p%d", 200+i, i))
		}
		file := csvLines(lines...)
		// now reads the node's clock: an empty PATCH stamps updated_at.
		now := func() time.Time {
			r := admin.do("PATCH", "/api/v/campaign/daily/", `{}`)
			expect(t, r, 200)
			ts, err := time.Parse(time.RFC3339Nano, r.JSON(t)["updated_at"].(string))
			if err != nil {
				t.Fatal(err)
			}
			return ts
		}
		const day = 24 * time.Hour

		ua := waitUpload(t, admin, uploadCSV(t, admin, a, file, "true"))
		checkCompleted(t, ua, 50, 50, 0, 0)
		ub := waitUpload(t, admin, uploadCSV(t, admin, b, file, "true"))
		if ub.FinishedAt != nil && ub.FinishedAt.Sub(ua.CreatedAt) >= day {
			t.Fatalf("too slow for the virtual clock: list B's upload finished %v (virtual) after A's began; the test needs it within a day", ub.FinishedAt.Sub(ua.CreatedAt))
		}
		checkCompleted(t, ub, 50, 0, 50, 0)
		t.Logf("A's upload %v → %v; B's finished %v after A's began (virtual)", ua.CreatedAt, *ua.FinishedAt, ub.FinishedAt.Sub(ua.CreatedAt))

		// Wait until more than a virtual day has passed since A's numbers
		// were claimed (before A finished), with an hour to spare.
		deadline := time.Now().Add(30 * time.Second)
		for now().Sub(*ua.FinishedAt) < day+time.Hour {
			if time.Now().After(deadline) {
				t.Fatalf("the virtual clock did not pass a day in 30 s: now %v, A finished %v", now(), ua.FinishedAt)
			}
			time.Sleep(100 * time.Millisecond)
		}
		uc := waitUpload(t, admin, uploadCSV(t, admin, c, file, "true"))
		t.Logf("C's upload began %v after A finished (virtual)", uc.CreatedAt.Sub(*ua.FinishedAt))
		checkCompleted(t, uc, 50, 50, 0, 0)
		if ps := listProspects(t, admin, c); len(ps) != 50 {
			t.Fatalf("list C holds %d prospects, want 50", len(ps))
		}
	})
}

func TestUploadSurvivesKill9(t *testing.T) {
	t.Parallel()
	n, admin := startNode(t)
	file, stats := genCSV(t, 150_000, testSeed(t))
	list := newList(t, admin, `{"name": "Crash", "workspace": "ws_k"}`, "crash", "Big")
	id := uploadCSV(t, admin, list, file, "true")

	deadline := time.Now().Add(time.Minute)
	for {
		u := getUpload(t, admin, id)
		if u.Status != "processing" {
			t.Fatalf("upload ended before the kill: %s", u.counts())
		}
		if u.BatchesDone >= 3 {
			t.Logf("kill -9 at %s", u.counts())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 3 batches done after a minute: %s", u.counts())
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.Kill()
	n.Restart()

	// The node resumes the upload by itself; a failed run is retried.
	deadline = time.Now().Add(time.Minute)
	var u uploadDoc
	for {
		u = getUpload(t, admin, id)
		if u.Status == "completed" {
			break
		}
		if u.Status == "failed" {
			t.Logf("after the restart the upload failed; retrying: %s", u.counts())
			if r := retryUpload(t, admin, id); r.Status != 200 {
				t.Fatalf("retry: %d %s", r.Status, r.Body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload not completed a minute after the restart: %s", u.counts())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("after the restart: %s", u.counts())
	checkCompleted(t, u, stats.Rows, stats.Accepted, stats.Duplicates, stats.Invalid)
	if u.Runs < 2 {
		t.Errorf("runs %d: the upload was not resumed", u.Runs)
	}
	ps := pageProspects[prospectKey](t, admin, list)
	if len(ps) != stats.Accepted {
		t.Errorf("list holds %d prospects, want %d", len(ps), stats.Accepted)
	}
	checkUnique(t, ps)
}

func TestUploadRetryAfterFailure(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	const campaign = `{"name": "X", "workspace": "ws_retry"}`
	file, stats := genCSV(t, 60_000, testSeed(t))
	list := newList(t, admin, campaign, "x", "Retried")
	id := uploadCSV(t, admin, list, file, "true")

	// Delete the campaign as soon as a batch is in: the claims of the next
	// batches find no campaign, and the run fails.
	deadline := time.Now().Add(time.Minute)
	for {
		u := getUpload(t, admin, id)
		if u.Status != "processing" {
			t.Fatalf("upload ended before the campaign could be deleted (make the file bigger): %s", u.counts())
		}
		if u.BatchesDone >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no batch done after a minute: %s", u.counts())
		}
		time.Sleep(10 * time.Millisecond)
	}
	expect(t, admin.do("DELETE", "/api/v/campaign/x/", ""), 204)
	failed := waitUpload(t, admin, id)
	t.Logf("after the campaign's delete: %s", failed.counts())
	if failed.Status != "failed" || failed.Reason == "" || failed.FinishedAt == nil {
		t.Fatalf("upload after its campaign was deleted: %s", failed.counts())
	}
	if failed.BatchesDone >= 12 || failed.RowsSeen >= stats.Rows {
		t.Fatalf("upload failed with every batch done: %s", failed.counts())
	}

	// Retry while the campaign is still gone: it could only fail again, so
	// it is refused, and nothing runs.
	r := retryUpload(t, admin, id)
	expect(t, r, 409)
	if m := r.JSON(t); m["success"] != false || !strings.Contains(fmt.Sprint(m["detail"]), `"x"`) {
		t.Fatalf("retry without the campaign: %s", r.Body)
	}
	if again := getUpload(t, admin, id); again.Status != "failed" || again.Runs != 1 || again.BatchesDone != failed.BatchesDone {
		t.Fatalf("after a refused retry: %s", again.counts())
	}

	// The campaign back under the same slug: the retry finishes the file.
	r = admin.do("POST", "/api/v/campaign/", campaign)
	expect(t, r, 201)
	if r.JSON(t)["slug"] != "x" {
		t.Fatalf("recreated campaign: %s", r.Body)
	}
	r = retryUpload(t, admin, id)
	expect(t, r, 200)
	if m := r.JSON(t); m["success"] != true || len(m) != 1 {
		t.Fatalf("retry: %s", r.Body)
	}
	final := waitUpload(t, admin, id)
	t.Logf("after the campaign came back: %s", final.counts())
	if final.Status != "completed" || final.Runs != 2 || final.BatchesFailed != 0 || final.Reason != "" {
		t.Fatalf("retried upload: %s", final.counts())
	}
	if final.RowsSeen != stats.Rows || final.Accepted+final.Duplicates+final.Invalid != stats.Rows || final.Invalid != stats.Invalid {
		t.Errorf("retried upload: %s; the file has %d rows, %d invalid", final.counts(), stats.Rows, stats.Invalid)
	}
	ps := pageProspects[prospectKey](t, admin, list)
	if len(ps) != final.Accepted {
		t.Errorf("list holds %d prospects, the upload says %d accepted", len(ps), final.Accepted)
	}
	// Deleting the campaign deleted its phone records, so the recreated
	// campaign does not know the numbers of the batches done before: the
	// list's own records must still make their repeats later in the file
	// duplicates, and keep every phone once.
	if final.Accepted != stats.Accepted || final.Duplicates != stats.Duplicates {
		t.Errorf("retried upload: accepted %d, duplicates %d; the file has %d to accept, %d duplicates",
			final.Accepted, final.Duplicates, stats.Accepted, stats.Duplicates)
	}
	checkUnique(t, ps)
}

// repeatReader is n copies of b, made as they are read.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.b
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// vmRSS is the resident memory of a node's process, in bytes.
func vmRSS(t *testing.T, n *nodetest.Node) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/pid/status")
	return 0
}

func expectFieldError(t *testing.T, r response, status int, field string) {
	t.Helper()
	expect(t, r, status)
	if _, ok := r.JSON(t)[field]; !ok {
		t.Fatalf("%d does not name %q: %s", status, field, r.Body)
	}
}

func TestUploadGarbage(t *testing.T) {
	t.Parallel()
	n, admin := startNode(t)
	small := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{"--max-upload-bytes", "1000000"}})
	smallAdmin := client{t: t, url: small.URL, token: boot}
	const camp = `{"name": "Garbage", "workspace": "ws_g"}`
	list := newList(t, admin, camp, "garbage", "Junk")
	smallList := newList(t, smallAdmin, camp, "garbage", "Junk")
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))

	// alive checks a node after each case: it answers, and its memory
	// stays bounded.
	alive := func(t *testing.T, n *nodetest.Node, c client) {
		t.Helper()
		expect(t, client{t: t, url: c.url}.do("GET", "/healthz", ""), 200)
		expect(t, c.do("GET", "/api/v/campaign/garbage/", ""), 200)
		rss := vmRSS(t, n)
		t.Logf("RSS %d MB", rss>>20)
		if rss > 400<<20 {
			t.Fatalf("node RSS %d MB, over 400 MB", rss>>20)
		}
	}
	// refusedOrFailed accepts a 400 naming file, or an upload that fails.
	refusedOrFailed := func(t *testing.T, c client, r response) {
		t.Helper()
		if r.Status >= 500 {
			t.Fatalf("server error %d: %s", r.Status, r.Body)
		}
		if r.Status == 201 {
			u := waitUpload(t, c, r.JSON(t)["uuid"].(string))
			if u.Status != "failed" || u.Reason == "" {
				t.Fatalf("garbage accepted: %s", u.counts())
			}
			t.Logf("garbage taken, then failed: %s", u.counts())
			return
		}
		expectFieldError(t, r, 400, "file")
		t.Logf("garbage refused: %s", r.Body)
	}

	t.Run("random binary", func(t *testing.T) {
		junk := make([]byte, 2<<20)
		for i := range junk {
			junk[i] = byte(rng.UintN(256))
		}
		refusedOrFailed(t, admin.on(t), postUpload(t, admin.on(t), list, csvForm(junk, "true")))
		alive(t, n, admin.on(t))
	})
	t.Run("50 MB line", func(t *testing.T) {
		const size = 50 << 20
		file := io.MultiReader(strings.NewReader("phone,"), &repeatReader{b: 'x', n: size})
		r := postUpload(t, admin.on(t), list, uploadForm{filename: "line.csv", file: file, size: size + int64(len("phone,"))})
		expectFieldError(t, r, 400, "file")
		t.Logf("50 MB line: %s", r.Body)
		alive(t, n, admin.on(t))
	})
	t.Run("10000 columns", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("phone")
		for i := 1; i < 10000; i++ {
			fmt.Fprintf(&b, ",c%d", i)
		}
		b.WriteString("\n+14155550100" + strings.Repeat(",", 9999) + "\n")
		r := postUpload(t, admin.on(t), list, csvForm([]byte(b.String()), "true"))
		expectFieldError(t, r, 400, "file")
		t.Logf("10000 columns: %s", r.Body)
		alive(t, n, admin.on(t))
	})
	t.Run("5 MB record", func(t *testing.T) {
		c := admin.on(t)
		l := newList(t, c, "", "garbage", "Long Record")
		var b bytes.Buffer
		b.WriteString("phone,notes\n")
		for i := 0; i < 10; i++ {
			fmt.Fprintf(&b, "+1415555%04d,before\n", 300+i)
		}
		b.WriteString("+14155550399,")
		b.Write(bytes.Repeat([]byte("y"), 5<<20))
		b.WriteString("\n")
		for i := 0; i < 10; i++ {
			fmt.Fprintf(&b, "+1415555%04d,after\n", 400+i)
		}
		id := uploadCSV(t, c, l, b.Bytes(), "true")
		u := waitUpload(t, c, id)
		t.Logf("5 MB record: %s", u.counts())
		if u.Status != "failed" || !regexp.MustCompile(`record.*(65536|64 KiB)`).MatchString(u.Reason) {
			t.Fatalf("upload with a 5 MB record: %s; want failed, with a reason naming the record size limit", u.counts())
		}
		if u.RowsSeen != 10 || u.Accepted != 10 {
			t.Fatalf("rows before the long record: %s; want the 10 of them accepted", u.counts())
		}
		ps := listProspects(t, c, l)
		if len(ps) != 10 || ps[0].PrimaryPhone != "+14155550300" || ps[9].PrimaryPhone != "+14155550309" {
			t.Fatalf("list after a 5 MB record: %d prospects", len(ps))
		}
		// A retry reads the file again and stops at the same place,
		// without ingesting the first rows twice.
		expect(t, retryUpload(t, c, id), 200)
		u = waitUpload(t, c, id)
		if u.Status != "failed" || u.Accepted != 10 || u.Runs != 2 {
			t.Fatalf("retry of the upload with a 5 MB record: %s", u.counts())
		}
		if ps := listProspects(t, c, l); len(ps) != 10 {
			t.Fatalf("after the retry the list holds %d prospects, want 10", len(ps))
		}
		alive(t, n, c)
	})
	t.Run("max upload bytes", func(t *testing.T) {
		c := smallAdmin.on(t)
		// sized is a valid CSV of exactly size bytes: rows of 100 bytes,
		// the last one padded to what is left.
		sized := func(size int) []byte {
			b := []byte("phone,notes\n")
			for i := 0; ; i++ {
				row := fmt.Sprintf("+1415555%04d,", 1000+i%9000)
				left, n := size-len(b), 100
				if left < 200 {
					n = left
				}
				b = append(b, row...)
				b = append(b, bytes.Repeat([]byte{'n'}, n-len(row)-1)...)
				b = append(b, '\n')
				if n == left {
					return b
				}
			}
		}
		over := sized(2 << 20)
		r := postUpload(t, c, smallList, csvForm(over, "true"))
		expect(t, r, 413)
		if _, ok := r.JSON(t)["detail"]; !ok {
			t.Errorf("413 without detail: %s", r.Body)
		}
		t.Logf("2 MB on a 1000000-byte node: %s", r.Body)
		if ps := listProspects(t, c, smallList); len(ps) != 0 {
			t.Fatalf("a refused file left %d prospects", len(ps))
		}
		// The limit is on the file: 1000000 bytes pass, one more does not.
		expect(t, postUpload(t, c, smallList, csvForm(sized(1_000_001), "true")), 413)
		exact := sized(1_000_000)
		if len(exact) != 1_000_000 {
			t.Fatalf("sized(1000000) is %d bytes", len(exact))
		}
		u := waitUpload(t, c, uploadCSV(t, c, smallList, exact, "true"))
		if u.Status != "completed" || u.Bytes != 1_000_000 || u.RowsSeen != bytes.Count(exact, []byte("\n"))-1 {
			t.Fatalf("a file of exactly the limit: %s, %d bytes", u.counts(), u.Bytes)
		}
		alive(t, small, c)
	})
	t.Run("cut off", func(t *testing.T) {
		c := admin.on(t)
		l := newList(t, c, "", "garbage", "Cut Off")
		file, _ := genCSV(t, 20_000, seed)
		ct, body, size := csvForm(file, "true").encode()
		conn, err := net.Dial("tcp", n.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v/upload/%s/ HTTP/1.1\r\nHost: x\r\nCookie: access_token=%s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", l, boot, ct, size)
		// About 600 KB of the file (a few stored chunks), then the
		// connection ends.
		if _, err := io.CopyN(conn, body, 600_000); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil {
			t.Logf("cut-off upload: no answer (%v)", err)
		} else {
			b, _ := io.ReadAll(res.Body)
			t.Logf("cut-off upload: %d %s", res.StatusCode, b)
			if res.StatusCode == 201 || res.StatusCode >= 500 {
				t.Fatalf("cut-off upload answered %d %s", res.StatusCode, b)
			}
		}
		conn.Close()
		alive(t, n, c)
		// Nothing of it is ingested, no run for it started (the list's
		// loader logs each run's end), and nothing of it is left unfinished:
		// a restarted node resumes what is (its first scan is after 1 s).
		time.Sleep(1500 * time.Millisecond)
		if ps := listProspects(t, c, l); len(ps) != 0 {
			t.Fatalf("a cut-off upload made %d prospects", len(ps))
		}
		logs := n.Log()
		n.Restart()
		time.Sleep(2500 * time.Millisecond)
		logs += n.Log()
		if strings.Contains(logs, "could not drop an upload") {
			t.Errorf("the cut-off upload was not dropped")
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, l) && (strings.Contains(line, "upload run") || strings.Contains(line, "resum") || strings.Contains(line, "interrupted")) {
				t.Errorf("node log about the cut-off upload's list: %s", line)
			}
		}
		// The list still takes a whole file.
		u := waitUpload(t, c, uploadCSV(t, c, l, csvLines("phone", "+14155550500"), "true"))
		checkCompleted(t, u, 1, 1, 0, 0)
	})
}

func TestUploadErrors(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	list := newList(t, admin, `{"name": "Errs", "workspace": "ws_e"}`, "errs", "E")
	other := newList(t, admin, `{"name": "Theirs", "workspace": "ws_other"}`, "theirs", "T")
	file := csvLines("phone", "+14155550100")

	// Fields: no file, an unknown field, a bad dedupe, two files.
	expectFieldError(t, postUpload(t, admin, list, uploadForm{before: []formField{{"dedupe", "true"}}}), 400, "file")
	expectFieldError(t, postUpload(t, admin, list, uploadForm{}), 400, "file")
	withField := csvForm(file, "true")
	withField.after = append(withField.after, formField{"colour", "blue"})
	expectFieldError(t, postUpload(t, admin, list, withField), 400, "colour")
	expectFieldError(t, postUpload(t, admin, list, uploadForm{before: []formField{{"list_name", "x"}}, filename: "p.csv", file: bytes.NewReader(file), size: int64(len(file))}), 400, "list_name")
	expectFieldError(t, postUpload(t, admin, list, csvForm(file, "maybe")), 400, "dedupe")
	expectFieldError(t, postUpload(t, admin, list, csvForm(nil, "true")), 400, "file") // an empty file
	// Not multipart: 415.
	expect(t, admin.raw("POST", "/api/v/upload/e/", "text/csv", file, nil), 415)
	expect(t, admin.raw("POST", "/api/v/upload/e/", "application/json", []byte(`{"file": "phone\n+14155550100\n"}`), nil), 415)
	// Unknown lists: 404.
	expect(t, postUpload(t, admin, "no-such-list", csvForm(file, "true")), 404)
	expect(t, postUpload(t, admin, "00000000-0000-0000-0000-000000000000", csvForm(file, "true")), 404)
	// No token: 401.
	expect(t, postUpload(t, client{t: t, url: admin.url}, list, csvForm(file, "true")), 401)
	if ps := listProspects(t, admin, list); len(ps) != 0 {
		t.Fatalf("refused uploads left prospects: %+v", ps)
	}

	// Unknown uploads: 404; retry answers in its own format.
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", list, "not-a-uuid"} {
		expect(t, admin.do("GET", "/api/v/upload/"+id+"/", ""), 404)
		r := retryUpload(t, admin, id)
		expect(t, r, 404)
		if m := r.JSON(t); m["success"] != false || m["detail"] == nil {
			t.Errorf("retry of unknown upload %s: %s", id, r.Body)
		}
	}

	// Another workspace's token sees neither the list nor its uploads.
	theirs := uploadCSV(t, admin, other, file, "true")
	waitUpload(t, admin, theirs)
	scoped := client{t: t, url: admin.url, token: mintToken(t, admin, `{"name": "e-team", "workspaces": ["ws_e"]}`)}
	expect(t, postUpload(t, scoped, "t", csvForm(file, "true")), 404)
	expect(t, postUpload(t, scoped, other, csvForm(file, "true")), 404)
	expect(t, scoped.do("GET", "/api/v/upload/"+theirs+"/", ""), 404)
	r := retryUpload(t, scoped, theirs)
	expect(t, r, 404)
	if m := r.JSON(t); m["success"] != false {
		t.Errorf("scoped retry of another workspace's upload: %s", r.Body)
	}
	if ps := listProspects(t, admin, other); len(ps) != 1 {
		t.Fatalf("list of ws_other holds %d prospects, want 1", len(ps))
	}
	// Its own list works.
	checkCompleted(t, waitUpload(t, scoped, uploadCSV(t, scoped, "e", file, "true")), 1, 1, 0, 0)
}
