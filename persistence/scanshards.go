package persistence

import (
	"context"
)

// ScanIndexShards is ScanIndex restricted to the given shards: the part of
// a cluster-wide index scan that one owner answers for.
func (s *Store) ScanIndexShards(ctx context.Context, shards []uint16, index, keyPrefix string, fn func(string, []byte) error) error {
	if err := checkName("index", index); err != nil {
		return err
	}
	for _, shard := range shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := prefix(shard, nsIndex, index)
		if err := s.scan(append(base, keyPrefix...), len(base), fn); err != nil {
			return err
		}
	}
	return nil
}

// Serving implements dialerd.Store: a single node serves every identity.
func (s *Store) Serving(string) error { return nil }
