package load

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/intake"
)

// dump concatenates every body a dataset can produce for k < n.
func dump(t *testing.T, d *Dataset, n int64) []byte {
	t.Helper()
	var b bytes.Buffer
	for j := range d.Spec.Campaigns {
		b.Write(d.FixtureBody(j))
		b.WriteString(d.Slugs[j])
	}
	b.WriteString(d.AddList + d.UploadList)
	b.Write(d.ListBody(0, "c"))
	for k := range n {
		b.Write(d.CreateBody(k))
		b.Write(d.PatchBody(k))
		b.Write(d.AddBody(k))
		b.WriteString(d.Phone(k) + d.Slug(k))
	}
	for _, u := range d.Uploads() {
		b.Write(u.Body)
		b.WriteString(u.ContentType)
	}
	return b.Bytes()
}

func TestDatasetDeterministic(t *testing.T) {
	spec := Spec{Seed: 7, Campaigns: 10, People: 200, Uploads: 3, UploadRows: 50}
	a, err := NewDataset(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDataset(spec)
	if err != nil {
		t.Fatal(err)
	}
	da, db := dump(t, a, 300), dump(t, b, 300)
	if !bytes.Equal(da, db) {
		t.Fatal("the same seed gave different bytes")
	}
	// Again: nothing in a dataset changes as it is used.
	if !bytes.Equal(da, dump(t, a, 300)) {
		t.Fatal("a dataset gave different bytes the second time")
	}

	spec.Seed = 8
	c, err := NewDataset(spec)
	if err != nil {
		t.Fatal(err)
	}
	for k := int64(0); k < 50; k++ {
		if bytes.Equal(a.CreateBody(k), c.CreateBody(k)) || bytes.Equal(a.AddBody(k), c.AddBody(k)) || a.Phone(k) == c.Phone(k) {
			t.Fatalf("request %d: seeds 7 and 8 gave the same data", k)
		}
	}
	for j := range a.Uploads() {
		if bytes.Equal(a.Uploads()[j].Body, c.Uploads()[j].Body) {
			t.Fatalf("upload %d: seeds 7 and 8 gave the same file", j)
		}
	}
}

// TestDatasetValidForDialerd runs the bodies through dialerd's own
// validation, so a load run measures work rather than 400s.
func TestDatasetValidForDialerd(t *testing.T) {
	d, err := NewDataset(Spec{Seed: 11, Campaigns: 5, People: 500})
	if err != nil {
		t.Fatal(err)
	}
	for j := range 5 {
		c := dialerd.NewCampaign()
		if err := c.ApplyJSON(d.FixtureBody(j)); err != nil {
			t.Fatalf("fixture %d: %v: %s", j, err, d.FixtureBody(j))
		}
		if d.Slugs[j] != dialerd.Slugify(c.Name) {
			t.Fatalf("fixture %d: expected slug %q, name %q", j, d.Slugs[j], c.Name)
		}
	}
	parser, err := intake.ParserFor("USCA")
	if err != nil {
		t.Fatal(err)
	}
	slugs := map[string]bool{}
	for k := range int64(300) {
		c := dialerd.NewCampaign()
		if err := c.ApplyJSON(d.CreateBody(k)); err != nil {
			t.Fatalf("create %d: %v: %s", k, err, d.CreateBody(k))
		}
		if s := dialerd.Slugify(c.Name); slugs[s] {
			t.Fatalf("create %d: slug %q again", k, s)
		} else {
			slugs[s] = true
		}
		if err := c.ApplyJSON(d.PatchBody(k)); err != nil {
			t.Fatalf("patch %d: %v: %s", k, err, d.PatchBody(k))
		}
		if len(d.PatchBody(k)) < 10 {
			t.Fatalf("patch %d changes nothing: %s", k, d.PatchBody(k))
		}

		// What the server does with a JSON add: strings at the top
		// level, custom fields under "fields".
		var body struct {
			Phone  string            `json:"primary_phone"`
			First  string            `json:"first_name"`
			Last   string            `json:"last_name"`
			Email  string            `json:"email"`
			Fields map[string]string `json:"fields"`
		}
		dec := json.NewDecoder(bytes.NewReader(d.AddBody(k)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			t.Fatalf("add %d: %v", k, err)
		}
		values := map[string]string{"primary_phone": body.Phone, "first_name": body.First, "last_name": body.Last, "email": body.Email}
		for f, v := range body.Fields {
			if dialerd.CanonicalColumn(f) != "" {
				t.Fatalf("add %d: custom field %q is a standard column", k, f)
			}
			values[f] = v
		}
		p, err := intake.Normalize(values, parser, dialerd.Locales["USCA"])
		if err != nil {
			t.Fatalf("add %d: %v: %s", k, err, d.AddBody(k))
		}
		if p.Phone != d.Phone(k) || d.Prospect(k).E164 != d.Phone(k) {
			t.Fatalf("add %d: number %q normalises to %s, Phone(k) is %s", k, body.Phone, p.Phone, d.Phone(k))
		}
	}
}

// TestPhonesDistinct: adds must not collide within a run, or dedupe turns
// them into 409s.
func TestPhonesDistinct(t *testing.T) {
	d, err := NewDataset(Spec{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if d.Capacity() < 1_000_000 {
		t.Fatalf("only %d distinct numbers", d.Capacity())
	}
	seen := make(map[[3]int]bool, 200_000)
	for k := range int64(200_000) {
		npa, nxx, line := d.number(k)
		if seen[[3]int{npa, nxx, line}] {
			t.Fatalf("number %s repeats at %d", d.Phone(k), k)
		}
		seen[[3]int{npa, nxx, line}] = true
	}
}

func TestUploadsAreMultipartCSV(t *testing.T) {
	d, err := NewDataset(Spec{Seed: 5, Uploads: 2, UploadRows: 40})
	if err != nil {
		t.Fatal(err)
	}
	for j, u := range d.Uploads() {
		mt, params, err := mime.ParseMediaType(u.ContentType)
		if err != nil || mt != "multipart/form-data" {
			t.Fatalf("upload %d: content type %q", j, u.ContentType)
		}
		mr := multipart.NewReader(bytes.NewReader(u.Body), params["boundary"])
		parts := map[string]string{}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("upload %d: %v", j, err)
			}
			b, _ := io.ReadAll(p)
			parts[p.FormName()] = string(b)
		}
		if parts["dedupe"] != "true" || !strings.HasPrefix(parts["file"], prospectgen.Header+"\n") {
			t.Fatalf("upload %d: parts %q", j, parts)
		}
		if u.Stats.Rows != 40 || int64(len(parts["file"])) != u.Stats.Bytes {
			t.Fatalf("upload %d: stats %+v for %d bytes", j, u.Stats, len(parts["file"]))
		}
	}
}
