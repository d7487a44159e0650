package dialerd

import (
	"strconv"
	"strings"
)

// PhoneRecord is a campaign's record of a number it holds: the list that
// added it, the claim that did (so a retried claim is not its own
// duplicate; an upload's claim key names the upload, so a number repeated
// in one file is a duplicate whatever dupe_days is) and when, in Unix
// seconds. A million of them are written per million rows uploaded: the
// names are short.
type PhoneRecord struct {
	List  string `json:"l"`
	Key   string `json:"k,omitempty"`
	Added int64  `json:"a"`
}

// UploadClaimKey is the claim key of an upload's batch.
func UploadClaimKey(upload string, batch int) string {
	return "u:" + upload + ":" + strconv.Itoa(batch)
}

// PhoneClaim is a list's request to add numbers to a campaign. Key names
// the claim: the same key claims the same numbers again without finding
// them duplicates (an upload's batch retried, or resumed after a crash).
// Upload is set, with an UploadClaimKey, for an upload's batches.
type PhoneClaim struct {
	Phones []string `json:"phones"`
	List   string   `json:"list"`
	Key    string   `json:"key"`
	Upload string   `json:"upload,omitempty"`
	Dedupe bool     `json:"dedupe"`
}

// Duplicates applies DESIGN §3's dedupe rule to a claim: with dedupe on and
// dupe_days ≥ 0, a number is a duplicate when it was added to the campaign
// (by any of its lists) less than dupe_days ago by another claim, when an
// earlier batch of the same upload added it, or when it appears earlier in
// the claim itself. prev holds the campaign's records of the claim's
// numbers (nil: none). It returns the positions of the duplicates.
func Duplicates(c PhoneClaim, prev []*PhoneRecord, dupeDays int, now int64) []int {
	dups := []int{}
	if !c.Dedupe || dupeDays < 0 {
		return dups
	}
	window := int64(dupeDays) * 86400
	seen := make(map[string]struct{}, len(c.Phones))
	for i, ph := range c.Phones {
		if _, again := seen[ph]; again {
			dups = append(dups, i)
			continue
		}
		seen[ph] = struct{}{}
		p := prev[i]
		switch {
		case p == nil || p.Key == c.Key:
		case c.Upload != "" && strings.HasPrefix(p.Key, "u:"+c.Upload+":"), now-p.Added < window:
			dups = append(dups, i)
		}
	}
	return dups
}

// ClaimResult answers a claim: the positions that are duplicates, and the
// campaign's dupe_days, which the list applies to the numbers it holds.
type ClaimResult struct {
	Dups     []int `json:"dups"`
	DupeDays int   `json:"dupe_days"`
}

// ListEntry is a list's record of a number it holds (key ph/<e164>): the
// prospect's id, when it was added (Unix seconds) and the upload that added
// it ("" for a single add). It lets a list apply the dedupe rule to its own
// numbers without the campaign's records, which a campaign deleted and
// created again no longer has.
type ListEntry struct {
	ID     string
	Added  int64
	Upload string
}

// Encode gives the entry's stored form, "id added upload".
func (e ListEntry) Encode() []byte {
	b := make([]byte, 0, len(e.ID)+len(e.Upload)+24)
	b = append(b, e.ID...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.Added, 10)
	b = append(b, ' ')
	return append(b, e.Upload...)
}

// DecodeListEntry reads an entry's stored form.
func DecodeListEntry(b []byte) ListEntry {
	id, rest, _ := strings.Cut(string(b), " ")
	added, upload, _ := strings.Cut(rest, " ")
	n, _ := strconv.ParseInt(added, 10, 64)
	return ListEntry{ID: id, Added: n, Upload: upload}
}

// DuplicateInList is the dedupe rule for a number a list already holds:
// with dedupe on and dupe_days ≥ 0, it is a duplicate if the same upload
// added it or it was added less than dupe_days ago.
func DuplicateInList(e ListEntry, upload string, dedupe bool, dupeDays int, now int64) bool {
	if !dedupe || dupeDays < 0 {
		return false
	}
	return upload != "" && e.Upload == upload || now-e.Added < int64(dupeDays)*86400
}
