package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"strings"
	"testing"
)

// The body postUpload streams — framing, file, framing — is a multipart
// form a server reads back as the dedupe field and the file, byte for byte.
func TestMultipartFraming(t *testing.T) {
	file := "phone,notes\n4155550123,\"a,\r\nb\"\n"
	head, tail, ct, err := multipartFraming("bench.csv", map[string]string{"dedupe": "true"})
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatal(err)
	}
	body := io.MultiReader(bytes.NewReader(head), strings.NewReader(file), bytes.NewReader(tail))
	form, err := multipart.NewReader(body, params["boundary"]).ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := form.Value["dedupe"]; len(got) != 1 || got[0] != "true" {
		t.Fatalf("dedupe %q", got)
	}
	fh := form.File["file"]
	if len(fh) != 1 || fh[0].Filename != "bench.csv" {
		t.Fatalf("file parts %v", fh)
	}
	f, _ := fh[0].Open()
	got, _ := io.ReadAll(f)
	if string(got) != file {
		t.Fatalf("file %q", got)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\`, "line\nbreak\r\x01\x1f", "héllo ☎", "bad\xffutf8", "\u2028"} {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var w string
		json.Unmarshal(want, &w)
		if back != w {
			t.Errorf("%q: round trip %q, encoding/json %q", s, back, w)
		}
	}
	doc := appendDoc(nil, []string{"phone", "notes"}, []string{"+1 415", "a,\"b\""})
	if !json.Valid(doc) {
		t.Fatalf("doc %s", doc)
	}
}

func TestAppendID(t *testing.T) {
	if got := string(appendID([]byte("p/"), 42)); got != "p/000000000042" {
		t.Fatal(got)
	}
}

func TestProcStatusKB(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	hwm, err := procStatusKB(os.Getpid(), "VmHWM")
	if err != nil || hwm <= 0 {
		t.Fatalf("VmHWM %d, %v", hwm, err)
	}
	if _, err := procStatusKB(os.Getpid(), "NoSuchField"); err == nil {
		t.Fatal("missing field: no error")
	}
}
