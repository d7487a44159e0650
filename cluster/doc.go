// Package cluster is the home of hashicorp/memberlist and of protoactor-go's
// cluster and remote packages: membership (a ClusterProvider fed by
// memberlist), placement, and the request path from any node to the grain
// that owns an identity.
//
// protoactor-go ships no memberlist provider; Provider is ours. It gossips
// each node's actor address and kinds in memberlist's node metadata and
// pushes full topology snapshots to protoactor whenever membership changes
// (debounced) and on a steady ticker, because protoactor only applies
// expiries at the next snapshot.
package cluster
