// Package persistence is the only home of Pebble. It implements
// dialerd.Store for one node: every key starts with its identity's shard, so
// that a shard's data is one contiguous key range that replication can copy
// and stream, then a namespace byte (data or index), then the identity or
// index name, a 0x00 separator and the caller's key.
//
//	[shard uint16 BE] 'd' identity 0x00 key   -> value
//	[shard uint16 BE] 'i' index    0x00 key   -> value
package persistence
