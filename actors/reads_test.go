package actors

import (
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

// ownership is a store whose serving and epoch the test sets.
type ownership struct {
	dialerd.Store
	serving bool
	epoch   uint64
}

func (o *ownership) Serving(string) error {
	if !o.serving {
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "not serving")
	}
	return nil
}

func (o *ownership) Epoch(string) uint64 { return o.epoch }

func TestReads(t *testing.T) {
	mem, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	own := &ownership{Store: mem, serving: true, epoch: 3}
	r := NewReads(own)
	grain := func(doc, ws string) *campaignGrain {
		c := dialerd.NewCampaign()
		c.Workspace = &ws
		return &campaignGrain{slug: "spring", identity: KindCampaign + "/spring", c: &c, doc: []byte(doc)}
	}
	old := grain(`{"v":1}`, "ws_a")
	r.publish(old)
	if doc, ws, ok := r.Campaign("spring"); !ok || string(doc) != `{"v":1}` || ws != "ws_a" {
		t.Fatalf("published: %q %q %v", doc, ws, ok)
	}
	if _, _, ok := r.Campaign("autumn"); ok {
		t.Fatal("a campaign never published was found")
	}
	// Not serving: nothing, whatever is published.
	own.serving = false
	if _, _, ok := r.Campaign("spring"); ok {
		t.Fatal("answered while the node does not serve the campaign")
	}
	// Served again at a later epoch: the old activation's entry, not yet
	// withdrawn, must not answer.
	own.serving, own.epoch = true, 4
	if _, _, ok := r.Campaign("spring"); ok {
		t.Fatal("an entry of an older epoch answered")
	}
	// A new activation publishes; the old one's late withdrawal leaves it.
	fresh := grain(`{"v":2}`, "ws_a")
	r.publish(fresh)
	r.withdraw(old)
	if doc, _, ok := r.Campaign("spring"); !ok || string(doc) != `{"v":2}` {
		t.Fatalf("after the old activation withdrew: %q %v", doc, ok)
	}
	// The epoch moves with this node still the owner: the entry is
	// refused until a read through the grain refreshes it.
	own.epoch = 5
	if _, _, ok := r.Campaign("spring"); ok {
		t.Fatal("an entry of an older epoch answered")
	}
	r.refresh(fresh)
	if doc, _, ok := r.Campaign("spring"); !ok || string(doc) != `{"v":2}` {
		t.Fatalf("after a refresh at the new epoch: %q %v", doc, ok)
	}
	// Deleted: gone.
	fresh.c, fresh.doc = nil, nil
	r.publish(fresh)
	if _, _, ok := r.Campaign("spring"); ok {
		t.Fatal("a deleted campaign answered")
	}
	var none *Reads
	if _, _, ok := none.Campaign("spring"); ok {
		t.Fatal("a nil Reads answered")
	}
	none.publish(fresh)
}
