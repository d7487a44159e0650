package http

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Metrics are the node's Prometheus metrics. The HTTP layer owns the
// registry; other layers report through the small funcs main wires to it.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	grains   *prometheus.GaugeVec
	members  prometheus.GaugeFunc
	handler  fasthttp.RequestHandler
}

// NewMetrics registers the node's metrics; members reports the live member
// count.
func NewMetrics(members func() int) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialerd_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dialerd_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		grains: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dialerd_grains_active", Help: "Grains activated on this node, by kind.",
		}, []string{"kind"}),
		members: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dialerd_cluster_members", Help: "Live cluster members as membership sees them.",
		}, func() float64 { return float64(members()) }),
	}
	r.MustRegister(m.requests, m.latency, m.grains, m.members,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(r, promhttp.HandlerOpts{}))
	return m
}

// ClusterFigures is what /metrics reports about membership, consensus and
// shard ownership.
type ClusterFigures struct {
	Leader          bool
	MapVersion      uint64
	ShardsOwned     int
	ShardsServing   int
	UnderReplicated int
	MaxReplicaLag   uint64
}

// RegisterCluster adds the cluster gauges, read from figures at scrape
// time.
func (m *Metrics) RegisterCluster(figures func() ClusterFigures) {
	gauge := func(name, help string, f func(ClusterFigures) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(figures()) })
	}
	m.Registry.MustRegister(
		gauge("dialerd_cluster_raft_leader", "1 on the Raft leader.", func(c ClusterFigures) float64 {
			if c.Leader {
				return 1
			}
			return 0
		}),
		gauge("dialerd_cluster_map_version", "Version of the shard map this node applied.", func(c ClusterFigures) float64 { return float64(c.MapVersion) }),
		gauge("dialerd_cluster_shards_owned", "Shards the map gives this node to own.", func(c ClusterFigures) float64 { return float64(c.ShardsOwned) }),
		gauge("dialerd_cluster_shards_serving", "Owned shards this node serves (handed over, lease held).", func(c ClusterFigures) float64 { return float64(c.ShardsServing) }),
		gauge("dialerd_cluster_replica_lag_batches", "Batches the furthest-behind replica of a shard this node serves lacks.", func(c ClusterFigures) float64 { return float64(c.MaxReplicaLag) }),
		gauge("dialerd_cluster_shards_under_replicated", "Shards with fewer than R replicas or an epoch not yet established.", func(c ClusterFigures) float64 { return float64(c.UnderReplicated) }),
	)
}

// OnGrain counts grain activations; give it to actors.Deps.
func (m *Metrics) OnGrain(kind string, delta int) { m.grains.WithLabelValues(kind).Add(float64(delta)) }
