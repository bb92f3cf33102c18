package config

import (
	"maps"
	"strings"
	"testing"
	"time"
)

func TestTransportBoundsHaveDefaults(t *testing.T) {
	s := parse(t, "server: {listen: \":0\"}", nil).Server
	if s.ReadHeaderTimeout != DefaultReadHeaderTimeout || s.BodyReadTimeout != DefaultBodyReadTimeout || s.BodyMinRate != DefaultBodyMinRate ||
		s.StreamWriteTimeout != DefaultStreamWriteTimeout || s.MaxConnections != DefaultMaxConnections || s.MaxConnectionsPerIP != DefaultMaxConnectionsPerIP {
		t.Fatalf("server = %+v", s)
	}
	s = parse(t, "server: {max_connections: -1, max_connections_per_ip: -1, body_read_timeout: 5s}", nil).Server
	if s.MaxConnections != -1 || s.MaxConnectionsPerIP != -1 || s.BodyReadTimeout != 5*time.Second {
		t.Fatalf("-1 (no limit) or an explicit value was not kept: %+v", s)
	}
}

func TestTransportBoundsAreValidated(t *testing.T) {
	for _, tc := range []struct {
		src, path, want string
	}{
		{src: "server: {read_header_timeout: -1s}", path: "server.read_header_timeout", want: "must be a positive duration"},
		{src: "server: {body_read_timeout: -1s}", path: "server.body_read_timeout", want: "default 30s"},
		{src: "server: {stream_write_timeout: -5s}", path: "server.stream_write_timeout", want: "default 1m0s"},
		{src: "server: {body_min_rate: -1}", path: "server.body_min_rate", want: "bytes per second"},
		{src: "server: {max_connections: -2}", path: "server.max_connections", want: "-1 for no limit"},
		{src: "server: {max_connections_per_ip: -7}", path: "server.max_connections_per_ip", want: "default 256"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ps := problems(t, tc.src, nil)
			if len(ps) != 1 || ps[0].Path != tc.path || !strings.Contains(ps[0].Message, tc.want) {
				t.Fatalf("problems = %v, want one at %s saying %q", ps, tc.path, tc.want)
			}
		})
	}
}

// withTransportDefaults is s with the transport bounds' defaults, for tests
// that compare a whole Server.
func withTransportDefaults(s Server) Server {
	s.ReadHeaderTimeout, s.BodyReadTimeout, s.BodyMinRate = DefaultReadHeaderTimeout, DefaultBodyReadTimeout, DefaultBodyMinRate
	s.StreamWriteTimeout, s.MaxConnections, s.MaxConnectionsPerIP = DefaultStreamWriteTimeout, DefaultMaxConnections, DefaultMaxConnectionsPerIP
	s.MaxJSONDepth, s.MaxUpstreamBodyBytes, s.MaxStreamBytes = DefaultMaxJSONDepth, DefaultMaxUpstreamBodyBytes, DefaultMaxStreamBytes
	s.AuthFailuresPerMinute, s.CORS.MaxAge = DefaultAuthFailuresPerMinute, DefaultCORSMaxAge
	s.EndpointMaxBodyBytes = maps.Clone(DefaultEndpointMaxBodyBytes)
	return s
}

// TestEndpointBodyLimits: an endpoint's own limit replaces max_body_bytes
// for it alone; the multipart endpoints keep their defaults unless named;
// an unknown endpoint or a non-positive limit is refused.
func TestEndpointBodyLimits(t *testing.T) {
	cfg := parse(t, "server: {max_body_bytes: 1000, endpoint_max_body_bytes: {/chat/completions: 5000, /images/edits: 7}}\n", nil)
	s := cfg.Server
	for ep, want := range map[string]int64{"/chat/completions": 5000, "/embeddings": 1000, "/images/edits": 7, "/audio/transcriptions": 26 << 20} {
		if got := s.BodyLimit(ep); got != want {
			t.Errorf("BodyLimit(%s) = %d, want %d", ep, got, want)
		}
	}
	ps := problems(t, "server: {endpoint_max_body_bytes: {/nope: 5, /audio/translations: 0}}\n", nil)
	if len(ps) != 2 {
		t.Fatalf("problems = %v", ps)
	}
}
