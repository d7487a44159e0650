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
	str := func() string {
		const alphabet = "aZ09 \"\\<>&é\u2028\x01,{}"
		b := []rune{}
		for i := r.IntN(8); i > 0; i-- {
			b = append(b, []rune(alphabet)[r.IntN(len([]rune(alphabet)))])
		}
		return string(b)
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
		data, _ := json.Marshal(p.ProspectData)
		if got := EncodeProspect(p.ID, p.List, p.CreatedAt, data); !bytes.Equal(got, want) {
			t.Fatalf("EncodeProspect =\n%s\nwant\n%s", got, want)
		}
	}
}
