package dialerd

import (
	"reflect"
	"testing"
)

func TestDuplicates(t *testing.T) {
	const day = 86400
	now := int64(100 * day)
	other := &PhoneRecord{List: "l2", Key: "a:1", Added: now - 10*day}
	old := &PhoneRecord{List: "l2", Key: "a:1", Added: now - 40*day}
	sameBatch := &PhoneRecord{List: "l1", Key: UploadClaimKey("x", 3), Added: now - 10*day}
	earlierBatch := &PhoneRecord{List: "l1", Key: UploadClaimKey("x", 1), Added: now}
	otherUpload := &PhoneRecord{List: "l1", Key: UploadClaimKey("y", 1), Added: now - 40*day}
	prefixUpload := &PhoneRecord{List: "l1", Key: UploadClaimKey("xy", 1), Added: now - 40*day}
	claim := func(dedupe bool, phones ...string) PhoneClaim {
		return PhoneClaim{Phones: phones, List: "l1", Key: UploadClaimKey("x", 3), Upload: "x", Dedupe: dedupe}
	}
	tests := []struct {
		name     string
		c        PhoneClaim
		prev     []*PhoneRecord
		dupeDays int
		want     []int
	}{
		{"new numbers", claim(true, "a", "b"), []*PhoneRecord{nil, nil}, 30, []int{}},
		{"in another list within dupe_days", claim(true, "a"), []*PhoneRecord{other}, 30, []int{0}},
		{"in another list after dupe_days", claim(true, "a"), []*PhoneRecord{old}, 30, []int{}},
		{"exactly dupe_days ago is not a duplicate", claim(true, "a"), []*PhoneRecord{{Key: "k", Added: now - 30*day}}, 30, []int{}},
		{"retried claim is not its own duplicate", claim(true, "a"), []*PhoneRecord{sameBatch}, 30, []int{}},
		{"earlier batch of the same file", claim(true, "a"), []*PhoneRecord{earlierBatch}, 30, []int{0}},
		{"same file with dupe_days 0", claim(true, "a"), []*PhoneRecord{earlierBatch}, 0, []int{0}},
		{"another list with dupe_days 0", claim(true, "a"), []*PhoneRecord{other}, 0, []int{}},
		{"older upload past dupe_days", claim(true, "a"), []*PhoneRecord{otherUpload}, 30, []int{}},
		{"an upload whose id starts with this one's", claim(true, "a"), []*PhoneRecord{prefixUpload}, 30, []int{}},
		{"repeated within the claim", claim(true, "a", "b", "a", "a"), []*PhoneRecord{nil, nil, nil, nil}, 30, []int{2, 3}},
		{"repeated within the claim, retried", claim(true, "a", "a"), []*PhoneRecord{sameBatch, sameBatch}, 30, []int{1}},
		{"dedupe off", claim(false, "a", "a"), []*PhoneRecord{other, other}, 30, []int{}},
		{"dupe_days -1", claim(true, "a", "a"), []*PhoneRecord{other, other}, -1, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Duplicates(tt.c, tt.prev, tt.dupeDays, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Duplicates = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDuplicateInList(t *testing.T) {
	const day = 86400
	now := int64(100 * day)
	e := ListEntry{ID: "000000000007", Added: now - 10*day, Upload: "u1"}
	if got := DecodeListEntry(e.Encode()); got != e {
		t.Fatalf("round trip: %+v", got)
	}
	if got := DecodeListEntry(ListEntry{ID: "000000000008", Added: now}.Encode()); got.Upload != "" || got.Added != now {
		t.Fatalf("single add entry: %+v", got)
	}
	for _, c := range []struct {
		name     string
		upload   string
		dedupe   bool
		dupeDays int
		want     bool
	}{
		{"same upload, window passed", "u1", true, 5, true},
		{"same upload, dupe_days 0", "u1", true, 0, true},
		{"other upload within dupe_days", "u2", true, 30, true},
		{"other upload after dupe_days", "u2", true, 5, false},
		{"single add within dupe_days", "", true, 30, true},
		{"dedupe off", "u1", false, 30, false},
		{"dupe_days -1", "u1", true, -1, false},
	} {
		if got := DuplicateInList(e, c.upload, c.dedupe, c.dupeDays, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
