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
