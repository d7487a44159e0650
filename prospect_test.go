package dialerd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// EncodeProspect must give exactly the bytes json.Marshal gives for the
// whole prospect, whatever its fields hold.
func TestEncodeProspectMatchesMarshal(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	pieces := []string{"a", "Z", "09", " ", `"`, `\`, "<", ">", "&", "é", "\u2028", "\u2029", "\x01", "\x1f", "\x7f",
		"\b", "\f", "\n", "\r", "\t", "\xff", "\xc3", "\xe2\x80", ",", "{", "😀", "\U0010ffff"}
	str := func() string {
		s := ""
		for i := r.IntN(8); i > 0; i-- {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	for i := 0; i < 2000; i++ {
		p := Prospect{ID: fmt.Sprintf("%012d", r.IntN(1e9)), List: str(), CreatedAt: time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()}
		p.Phone, p.FirstName, p.Email, p.State, p.Status = str(), str(), str(), str(), str()
		p.Attempts = r.IntN(20)
		if r.IntN(2) == 0 {
			p.Timezones = []string{str(), str()}
			p.Fields = map[string]string{str(): str(), str(): str()}
		}
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		data := p.ProspectData.AppendJSON(nil)
		if std, _ := json.Marshal(p.ProspectData); !bytes.Equal(data, std) {
			t.Fatalf("AppendJSON =\n%s\nencoding/json\n%s", data, std)
		}
		if got := EncodeProspect(p.ID, p.List, p.CreatedAt, data); !bytes.Equal(got, want) {
			t.Fatalf("EncodeProspect =\n%s\nwant\n%s", got, want)
		}
		// With its dial state (each field present or not).
		at := func() time.Time {
			if r.IntN(2) == 0 {
				return time.Time{}
			}
			return time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(time.FixedZone("", r.IntN(20)*1800-36000))
		}
		p.LastAttemptAt, p.NextCallAt, p.CallbackAt = at(), at(), at()
		if r.IntN(2) == 0 {
			p.LastOutcome, p.Resolution = str(), str()
		}
		p.RecentAttempts = nil
		for i := r.IntN(4); i > 0; i-- {
			p.RecentAttempts = append(p.RecentAttempts, at())
		}
		if want, _ = json.Marshal(p); !bytes.Equal(p.AppendJSON(nil), want) {
			t.Fatalf("Prospect.AppendJSON =\n%s\nwant\n%s", p.AppendJSON(nil), want)
		}
	}
}

// FuzzAppendJSON holds the hand-written encoder to encoding/json's bytes.
func FuzzAppendJSON(f *testing.F) {
	f.Add("+14155551234", "Ann <b>", "x\u2028\xff", "notes", "a,\"b\"\n")
	f.Fuzz(func(t *testing.T, phone, name, zone, key, value string) {
		d := ProspectData{Phone: phone, FirstName: name, Timezones: []string{zone}, Fields: map[string]string{key: value, value: key}, Status: name}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON =\n%s\nwant\n%s", got, want)
		}
	})
}
