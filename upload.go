package dialerd

import (
	"sort"
	"time"
)

// Upload statuses. An upload is receiving until its file is durably stored
// whole (only then does the client get 201), processing while its batches
// run, and then completed or failed; retry takes a failed one back to
// processing.
const (
	UploadReceiving  = "receiving"
	UploadProcessing = "processing"
	UploadCompleted  = "completed"
	UploadFailed     = "failed"
)

// Upload sizes. A file is stored in chunks in the list's shard, so it is
// replicated with the list and survives the loss of the node that received
// it; rows are ingested in batches, each one atomic and idempotent.
const (
	UploadChunkBytes = 256 << 10
	UploadBatchRows  = 5000
	// MaxUploadErrors is how many row errors an upload keeps (the first,
	// by row).
	MaxUploadErrors = 100
)

// Upload is a CSV file being ingested into a list, and its progress.
type Upload struct {
	UUID     string `json:"uuid"`
	List     string `json:"list"`
	Campaign string `json:"campaign"`
	Locale   string `json:"locale"`
	Filename string `json:"filename"`
	Bytes    int64  `json:"bytes"`
	Chunks   int    `json:"chunks"`
	Dedupe   bool   `json:"dedupe"`
	Status   string `json:"status"`
	// Reason says why an upload failed.
	Reason string `json:"reason,omitempty"`

	// Counts over the batches done so far. Every data row of the file is
	// exactly one of accepted, duplicate or invalid once the upload is
	// completed.
	RowsSeen   int `json:"rows_seen"`
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Invalid    int `json:"invalid"`
	// DoNotCall counts the accepted rows whose number was on the
	// workspace's do-not-call list: stored, and resolved as do_not_call.
	DoNotCall int              `json:"do_not_call"`
	Errors    []UploadRowError `json:"errors"`

	// BytesDone is how much of the file the batches done so far cover:
	// progress while the number of rows is not yet known.
	BytesDone int64 `json:"bytes_done"`
	// BatchesTotal is known once the whole file has been read (nil before).
	BatchesTotal  *int `json:"batches_total"`
	BatchesDone   int  `json:"batches_done"`
	BatchesFailed int  `json:"batches_failed"`
	// Runs counts processing runs: 1, plus one per retry or resume.
	Runs int `json:"runs"`

	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// UploadRowError is why one row was not ingested. Row numbers rows as a
// spreadsheet does (the header is row 1); Line is where the row starts in
// the file (they differ after a quoted field spanning lines); Column is the
// column at fault, "" when the row as a whole is.
type UploadRowError struct {
	Row    int    `json:"row"`
	Line   int    `json:"line"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// BatchResult is what one batch contributed to an upload.
type BatchResult struct {
	Rows       int              `json:"rows"`
	Accepted   int              `json:"accepted"`
	Duplicates int              `json:"duplicates"`
	Invalid    int              `json:"invalid"`
	DoNotCall  int              `json:"do_not_call,omitempty"`
	Errors     []UploadRowError `json:"errors,omitempty"`
	// End is the file offset after the batch's last row.
	End int64 `json:"end"`
}

// AddBatch counts a finished batch into the upload, keeping the first
// MaxUploadErrors row errors in row order (batches may finish out of row
// order when a retry re-runs an early one).
func (u *Upload) AddBatch(b BatchResult) {
	u.RowsSeen += b.Rows
	u.Accepted += b.Accepted
	u.Duplicates += b.Duplicates
	u.Invalid += b.Invalid
	u.DoNotCall += b.DoNotCall
	u.BatchesDone++
	u.BytesDone = max(u.BytesDone, b.End)
	if len(b.Errors) == 0 {
		return
	}
	u.Errors = append(u.Errors, b.Errors...)
	sort.SliceStable(u.Errors, func(i, j int) bool { return u.Errors[i].Row < u.Errors[j].Row })
	if len(u.Errors) > MaxUploadErrors {
		u.Errors = u.Errors[:MaxUploadErrors]
	}
}

// Finished reports whether the upload is completed or failed.
func (u *Upload) Finished() bool {
	return u.Status == UploadCompleted || u.Status == UploadFailed
}
