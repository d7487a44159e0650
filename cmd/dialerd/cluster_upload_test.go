package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// An upload lives in its list's shard, replicated like the list: when the
// node that owns the list dies while the batches run — the node that
// received the file is another one — a survivor takes the shard over,
// resumes the upload from its first unfinished batch, and the list ends
// with exactly the file's prospects, none twice.
func TestClusterUploadSurvivesOwnerKill9(t *testing.T) {
	nodes := nodetest.StartCluster(t, 3, nodetest.Options{BootstrapToken: boot})
	must(t, nodes[0], "POST", "/api/v/campaign/", `{"name": "Cluster Upload", "workspace": "ws_cu"}`, 201)
	list := field(must(t, nodes[0], "POST", "/api/v/list/", `{"name": "CU", "campaign": "cluster-upload"}`, 201).Body, "uuid")

	loc := must(t, nodes[0], "GET", "/api/v/cluster/?identity=list/"+list, "", 200)
	var info struct {
		Identity struct {
			OwnerHTTP string `json:"owner_http"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(loc.Body, &info); err != nil || info.Identity.OwnerHTTP == "" {
		t.Fatalf("where does list/%s live? %s", list, loc.Body)
	}
	var owner *nodetest.Node
	for _, n := range nodes {
		if n.HTTP == info.Identity.OwnerHTTP {
			owner = n
		}
	}
	if owner == nil {
		t.Fatalf("owner %s is not one of the nodes", info.Identity.OwnerHTTP)
	}
	survivors := without(nodes, owner)
	via := survivors[0]

	const rows, seed = 60_000, 7
	var file bytes.Buffer
	stats, err := prospectgen.Write(&file, rows, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file: %d rows (seed %d), %d bytes; list owned by %s, uploaded through %s", rows, seed, file.Len(), owner.HTTP, via.HTTP)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "cluster.csv")
	fw.Write(file.Bytes())
	mw.WriteField("dedupe", "true")
	mw.Close()
	req, _ := http.NewRequest("POST", via.URL+"/api/v/upload/"+list+"/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", "access_token="+boot)
	res, err := clusterHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	created, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("upload: %d %s", res.StatusCode, created)
	}
	upload := field(created, "uuid")
	path := "/api/v/upload/" + upload + "/"

	// Kill the owner once a few batches are in.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := must(t, via, "GET", path, "", 200)
		var st struct {
			Status      string `json:"status"`
			BatchesDone int    `json:"batches_done"`
		}
		json.Unmarshal(r.Body, &st)
		if st.Status != "processing" {
			t.Fatalf("upload finished before the owner could be killed (make the file larger): %s", r.Body)
		}
		if st.BatchesDone >= 2 {
			t.Logf("killing the owner %s at %d batches done", owner.HTTP, st.BatchesDone)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %s", r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	owner.Kill()
	killed := time.Now()

	// A survivor resumes it; a run that failed on the way (the shard was
	// moving) is retried, as a client would.
	var final map[string]any
	for final == nil {
		if time.Since(killed) > 90*time.Second {
			t.Fatalf("upload not completed 90 s after the owner's kill -9")
		}
		r, err := send(via, "", "GET", path, "", 3*time.Second)
		if err != nil || r.Status != 200 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var st map[string]any
		json.Unmarshal(r.Body, &st)
		switch st["status"] {
		case "completed":
			final = st
		case "failed":
			t.Logf("failed after the kill (%v); retrying", st["reason"])
			send(via, "", "POST", path+"retry/", "", 3*time.Second)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("completed %v after the kill: %v runs", time.Since(killed).Round(time.Millisecond), final["runs"])
	for name, want := range map[string]int{"accepted": stats.Accepted, "duplicates": stats.Duplicates, "invalid": stats.Invalid, "rows_seen": stats.Rows} {
		if got := int(final[name].(float64)); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}

	phones := map[string]bool{}
	cursor := ""
	for {
		r := must(t, survivors[1], "GET", fmt.Sprintf("/api/v/list/%s/prospects/?limit=1000&cursor=%s", list, cursor), "", 200)
		var page struct {
			Results []struct {
				Phone string `json:"primary_phone"`
			} `json:"results"`
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Results {
			if phones[p.Phone] {
				t.Fatalf("%s is in the list twice", p.Phone)
			}
			phones[p.Phone] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(phones) != stats.Accepted {
		t.Fatalf("the list holds %d prospects, want %d", len(phones), stats.Accepted)
	}
}

// The node receiving an upload dies while the file streams in, before it
// answered: the client, never told the file was received, sends it again
// through another node, and the list ends with the file's prospects
// exactly once (what the dead node had stored of the first attempt was
// never committed, so never ingested).
func TestClusterUploadReceiverKilledRetried(t *testing.T) {
	nodes := nodetest.StartCluster(t, 3, nodetest.Options{BootstrapToken: boot})
	must(t, nodes[0], "POST", "/api/v/campaign/", `{"name": "Receiver Kill", "workspace": "ws_rk"}`, 201)
	list := field(must(t, nodes[0], "POST", "/api/v/list/", `{"name": "RK", "campaign": "receiver-kill"}`, 201).Body, "uuid")
	dc := &dialingCluster{nodes: nodes, list: list}
	owner := dc.owner(t, nodes[0], "list/"+list)
	others := without(nodes, owner)
	receiver, retryVia := others[0], others[1]

	const rows, seed = 30_000, 9
	var file bytes.Buffer
	stats, err := prospectgen.Write(&file, rows, seed)
	if err != nil {
		t.Fatal(err)
	}
	// First attempt: half the file through the receiver, then it dies.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, _ := http.NewRequest("POST", receiver.URL+"/api/v/upload/"+list+"/", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", "access_token="+boot)
	answered := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			err = fmt.Errorf("answered %d %s", res.StatusCode, b)
		}
		answered <- err
	}()
	fw, _ := mw.CreateFormFile("file", "rk.csv")
	half := file.Len() / 2
	if _, err := fw.Write(file.Bytes()[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the receiver stores the chunks it has
	receiver.Kill()
	pw.CloseWithError(fmt.Errorf("the receiver died"))
	if err := <-answered; err == nil || strings.Contains(err.Error(), "answered 201") {
		t.Fatalf("first attempt: %v", err)
	}

	// The retry, through another node.
	var body bytes.Buffer
	mw = multipart.NewWriter(&body)
	fw, _ = mw.CreateFormFile("file", "rk.csv")
	fw.Write(file.Bytes())
	mw.Close()
	var created []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		req, _ := http.NewRequest("POST", retryVia.URL+"/api/v/upload/"+list+"/", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Cookie", "access_token="+boot)
		res, err := clusterHTTP.Do(req)
		if err == nil {
			created, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 201 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("retry not accepted within 30 s: %v %s", err, created)
		}
		time.Sleep(200 * time.Millisecond)
	}
	path := "/api/v/upload/" + field(created, "uuid") + "/"
	var final map[string]any
	for deadline := time.Now().Add(60 * time.Second); final == nil; time.Sleep(100 * time.Millisecond) {
		r, err := send(retryVia, "", "GET", path, "", 3*time.Second)
		if err == nil && r.Status == 200 {
			var st map[string]any
			json.Unmarshal(r.Body, &st)
			switch st["status"] {
			case "completed":
				final = st
			case "failed":
				send(retryVia, "", "POST", path+"retry/", "", 3*time.Second)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("retried upload not completed within 60 s")
		}
	}
	for name, want := range map[string]int{"accepted": stats.Accepted, "duplicates": stats.Duplicates, "invalid": stats.Invalid, "rows_seen": stats.Rows} {
		if got := int(final[name].(float64)); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	dc.accepted = stats.Accepted
	dc.checkProspects(t, retryVia)
}
