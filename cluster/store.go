package cluster

import (
	"context"
	"sort"

	"github.com/dialerd/dialerd"
	pb "github.com/dialerd/dialerd/cluster/clusterpb"
	"github.com/dialerd/dialerd/cluster/shardmap"
	"github.com/dialerd/dialerd/persistence"
)

// Store is the dialerd.Store of a cluster node: writes go through the
// shard's owner's majority replication (and only the owner writes); reads
// are answered by the owner, locally or over the network, so every node
// reads its own and everyone's writes.
type Store struct {
	r   *Replication
	net transport
}

var _ dialerd.Store = (*Store)(nil)

func unavailable(what string) error {
	return dialerd.Errorf(dialerd.EUNAVAILABLE, "%s is not available right now (shard moving or no majority); try again.", what)
}

// Serving implements dialerd.Store.
func (s *Store) Serving(identity string) error { return s.r.Serving(identity) }

// Epoch is the epoch this node serves identity at (0: it does not).
func (s *Store) Epoch(identity string) uint64 { return s.r.Epoch(identity) }

// Get implements dialerd.Store.
func (s *Store) Get(ctx context.Context, identity, key string) ([]byte, error) {
	owner, _ := s.r.Owner(identity)
	if owner == s.r.cfg.Self {
		if err := s.r.Serving(identity); err != nil {
			return nil, err
		}
		return s.r.local.Get(ctx, identity, key)
	}
	rep, err := s.read(owner, &pb.ReadRequest{Kind: pb.ReadKind_READ_GET, Identity: identity, Key: key})
	if err != nil {
		return nil, err
	}
	if !rep.Found {
		return nil, nil
	}
	if rep.Value == nil {
		return []byte{}, nil
	}
	return rep.Value, nil
}

// ScanAfter implements dialerd.Store. A remote identity is scanned whole
// and filtered here: grains scan their own identities, which are local.
func (s *Store) ScanAfter(ctx context.Context, identity, prefix, after string, fn func(string, []byte) error) error {
	owner, _ := s.r.Owner(identity)
	if owner == s.r.cfg.Self {
		if err := s.r.Serving(identity); err != nil {
			return err
		}
		return s.r.local.ScanAfter(ctx, identity, prefix, after, fn)
	}
	from := prefix + after
	return s.Scan(ctx, identity, prefix, func(k string, v []byte) error {
		if k <= from {
			return nil
		}
		return fn(k, v)
	})
}

// ScanRanges implements dialerd.Store. A remote identity is scanned whole
// for each range and filtered here: grains scan their own identities,
// which are local.
func (s *Store) ScanRanges(ctx context.Context, identity string, ranges []dialerd.KeyRange, fn func(int, string, []byte) error) error {
	owner, _ := s.r.Owner(identity)
	if owner == s.r.cfg.Self {
		if err := s.r.Serving(identity); err != nil {
			return err
		}
		return s.r.local.ScanRanges(ctx, identity, ranges, fn)
	}
	for i, r := range ranges {
		err := s.Scan(ctx, identity, "", func(k string, v []byte) error {
			if k < r.Lower {
				return nil
			}
			if k >= r.Upper {
				return dialerd.ErrNextRange
			}
			return fn(i, k, v)
		})
		if err != nil && err != dialerd.ErrNextRange {
			return err
		}
	}
	return nil
}

// GetMany implements dialerd.Store. Grains read their own identity, which
// lives here; a read for another node's identity is a Get per key.
func (s *Store) GetMany(ctx context.Context, identity string, keys []string) ([][]byte, error) {
	owner, _ := s.r.Owner(identity)
	if owner == s.r.cfg.Self {
		if err := s.r.Serving(identity); err != nil {
			return nil, err
		}
		return s.r.local.GetMany(ctx, identity, keys)
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.Get(ctx, identity, k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Scan implements dialerd.Store.
func (s *Store) Scan(ctx context.Context, identity, prefix string, fn func(string, []byte) error) error {
	owner, _ := s.r.Owner(identity)
	if owner == s.r.cfg.Self {
		if err := s.r.Serving(identity); err != nil {
			return err
		}
		return s.r.local.Scan(ctx, identity, prefix, fn)
	}
	rep, err := s.read(owner, &pb.ReadRequest{Kind: pb.ReadKind_READ_SCAN, Identity: identity, Key: prefix})
	if err != nil {
		return err
	}
	for _, kv := range rep.Kvs {
		if err := fn(string(kv.Key), kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// Apply implements dialerd.Store. Only the owner writes: a grain runs on
// its shard's owner, and the owner replicates.
func (s *Store) Apply(_ context.Context, identity string, ops []dialerd.Op) error {
	owner, _ := s.r.Owner(identity)
	if owner != s.r.cfg.Self {
		return unavailable(identity)
	}
	return s.r.write(identity, ops)
}

// ScanIndex implements dialerd.Store: each owner scans its shards, in one
// request per node.
func (s *Store) ScanIndex(ctx context.Context, index, prefix string, fn func(string, []byte) error) error {
	byOwner := map[shardmap.NodeID][]uint32{}
	for sh := 0; sh < persistence.NumShards; sh++ {
		o := s.r.ownerOfShard(uint16(sh))
		if o == "" {
			return unavailable("The index")
		}
		byOwner[o] = append(byOwner[o], uint32(sh))
	}
	owners := make([]string, 0, len(byOwner))
	for o := range byOwner {
		owners = append(owners, string(o))
	}
	sort.Strings(owners)
	for _, o := range owners {
		shards := byOwner[shardmap.NodeID(o)]
		if shardmap.NodeID(o) == s.r.cfg.Self {
			for _, sh := range shards {
				if !s.r.shards[sh].serving.Load() {
					return unavailable("The index")
				}
			}
			if err := s.r.local.ScanIndexShards(ctx, toShards(shards), index, prefix, fn); err != nil {
				return err
			}
			continue
		}
		rep, err := s.read(shardmap.NodeID(o), &pb.ReadRequest{Kind: pb.ReadKind_READ_SCAN_INDEX, Index: index, Key: prefix, Shards: shards})
		if err != nil {
			return err
		}
		for _, kv := range rep.Kvs {
			if err := fn(string(kv.Key), kv.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) read(owner shardmap.NodeID, req *pb.ReadRequest) (*pb.ReadReply, error) {
	if owner == "" {
		return nil, unavailable("Data")
	}
	res, err := s.net.call(owner, req, s.r.cfg.RequestTimeout)
	if err != nil {
		return nil, unavailable("Data")
	}
	rep, ok := res.(*pb.ReadReply)
	if !ok || rep.Status != pb.Status_STATUS_OK {
		return nil, unavailable("Data")
	}
	return rep, nil
}
