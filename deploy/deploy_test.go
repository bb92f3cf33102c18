package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// secretEnv is what the Secret (Kubernetes) or the environment (compose)
// gives the gateway's config.
var secretEnv = map[string]string{
	"SWITCHYARD_ADMIN_KEY":    "sy-admin-0123456789abcdef0123456789abcdef",
	"SWITCHYARD_DATABASE_URL": "postgres://switchyard:pw@postgres:5432/switchyard?sslmode=disable",
	"SWITCHYARD_REDIS_URL":    "redis://redis:6379/0",
	"OPENAI_API_KEY":          "sk-test-0123456789",
}

// TestDockerfile parses the Dockerfile with BuildKit's own parser and runs
// its linter (the checks of `docker build --check`): any warning fails.
// Then it checks what the image promises: a static binary, a non-root
// user, the listen address and data directory set.
func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("Dockerfile does not parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s", w.Short)
	}
	var warnings []string
	lint := linter.New(&linter.Config{ExperimentalAll: true, Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		warnings = append(warnings, fmt.Sprintf("Dockerfile:%d: %s: %s", line, rule, msg))
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	for _, w := range warnings {
		t.Error(w)
	}
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d stages", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.Contains(string(src), "CGO_ENABLED=0") {
		t.Error("the binary must be built with CGO_ENABLED=0 (static, for a distroless base)")
	}
	if !strings.HasPrefix(build.BaseName, "golang:1.26") {
		t.Errorf("build stage base %q: want the Go version go.mod names (golang:1.26…)", build.BaseName)
	}
	var user string
	env := map[string]string{}
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.CopyCommand:
			for _, s := range c.SourcePaths {
				if c.From == "" {
					t.Errorf("runtime stage copies %q from the context: copy only from the build stage", s)
				}
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("runtime stage USER %q: want a non-root numeric user", user)
	}
	if env["SWITCHYARD_LISTEN"] != "0.0.0.0:8080" {
		t.Errorf("SWITCHYARD_LISTEN = %q: a container must listen on every interface", env["SWITCHYARD_LISTEN"])
	}
	if env["SWITCHYARD_DATA"] == "" {
		t.Error("SWITCHYARD_DATA unset: the default SQLite file would land in the working directory")
	}
	// Every path the build stage copies from the context exists.
	for _, c := range build.Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From == "" {
			for _, s := range cp.SourcePaths {
				if _, err := os.Stat(filepath.Join("..", s)); err != nil {
					t.Errorf("build stage copies %q, which is not in the repository", s)
				}
			}
		}
	}
}

// TestCompose loads the compose file the way Docker Compose does
// (compose-go, validated against the Compose specification's schema) and
// checks the topology: two gateway instances from one image on the shared
// PostgreSQL and Redis, started once both are healthy, behind the proxy.
func TestCompose(t *testing.T) {
	env := []string{"SWITCHYARD_ADMIN_KEY=" + secretEnv["SWITCHYARD_ADMIN_KEY"], "OPENAI_API_KEY=sk-test"}
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"}, cli.WithWorkingDirectory("."), cli.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"switchyard-a", "switchyard-b"} {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("%s: want build from deploy/Dockerfile", name)
		}
		if s.Environment["SWITCHYARD_DATABASE_URL"] == nil || !strings.Contains(*s.Environment["SWITCHYARD_DATABASE_URL"], "@postgres:5432/") {
			t.Errorf("%s: SWITCHYARD_DATABASE_URL must name the postgres service", name)
		}
		if s.Environment["SWITCHYARD_REDIS_URL"] == nil || !strings.Contains(*s.Environment["SWITCHYARD_REDIS_URL"], "//redis:6379") {
			t.Errorf("%s: SWITCHYARD_REDIS_URL must name the redis service", name)
		}
		for _, dep := range []string{"postgres", "redis"} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != "service_healthy" {
				t.Errorf("%s: must wait for %s to be healthy", name, dep)
			}
			if p.Services[dep].HealthCheck == nil {
				t.Errorf("%s has no healthcheck to wait for", dep)
			}
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes ports: only the proxy should", name)
		}
	}
	proxy, ok := p.Services["proxy"]
	if !ok {
		t.Fatal("no proxy service")
	}
	for _, port := range proxy.Ports {
		if port.HostIP != "127.0.0.1" {
			t.Errorf("proxy publishes on %q: bind to 127.0.0.1 (put TLS in front for the outside)", port.HostIP)
		}
	}
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server switchyard-a:8080", "server switchyard-b:8080", "proxy_buffering off"} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}

	// Without the admin key the file refuses to load, naming it.
	opts, _ = cli.NewProjectOptions([]string{"compose.yaml"}, cli.WithWorkingDirectory("."), cli.WithEnv([]string{"OPENAI_API_KEY=x"}))
	if _, err := opts.LoadProject(context.Background()); err == nil || !strings.Contains(err.Error(), "SWITCHYARD_ADMIN_KEY") {
		t.Errorf("compose without SWITCHYARD_ADMIN_KEY: err = %v, want one naming it", err)
	}
}

// TestKubernetes decodes every manifest strictly into the Kubernetes API
// types (an unknown or misspelt field fails, as the API server's strict
// validation would) and checks the Deployment's promises.
func TestKubernetes(t *testing.T) {
	var kust struct {
		Resources []string `json:"resources"`
	}
	readStrict(t, "kubernetes/kustomization.yaml", &kust, false)
	var (
		dep appsv1.Deployment
		cm  corev1.ConfigMap
	)
	for _, f := range kust.Resources {
		path := filepath.Join("kubernetes", f)
		var meta struct {
			Kind string `json:"kind"`
		}
		readStrict(t, path, &meta, false)
		switch meta.Kind {
		case "Deployment":
			readStrict(t, path, &dep, true)
		case "ConfigMap":
			readStrict(t, path, &cm, true)
		case "Service":
			readStrict(t, path, &corev1.Service{}, true)
		case "Namespace":
			readStrict(t, path, &corev1.Namespace{}, true)
		case "PodDisruptionBudget":
			readStrict(t, path, &policyv1.PodDisruptionBudget{}, true)
		default:
			t.Errorf("%s: kind %q has no check here; add one", path, meta.Kind)
		}
	}
	readStrict(t, "kubernetes/secret.example.yaml", &corev1.Secret{}, true)

	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Error("Deployment: want at least 2 replicas")
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("Deployment: want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("pod must set runAsNonRoot")
	}
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem ||
		c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Error("container must have a read-only root filesystem and no privilege escalation")
	}
	probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
	wantPath := map[string]string{"startup": "/healthz", "liveness": "/healthz", "readiness": "/readyz"}
	for name, pr := range probes {
		if pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Path != wantPath[name] {
			t.Errorf("%s probe: want GET %s", name, wantPath[name])
		}
	}

	// The ConfigMap's config passes switchyard's own validation with the
	// Secret's variables, and the pod's grace period outlasts its drain.
	cfgFile := filepath.Join(t.TempDir(), "switchyard.yaml")
	if err := os.WriteFile(cfgFile, []byte(cm.Data["switchyard.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, cfgFile)
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if grace <= cfg.Server.DrainTimeout {
		t.Errorf("terminationGracePeriodSeconds %v must exceed server.drain_timeout %v", grace, cfg.Server.DrainTimeout)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--config /etc/switchyard/switchyard.yaml") {
		t.Errorf("container args %q do not read the mounted config", c.Args)
	}
}

// TestComposeConfig: the config file the compose file mounts passes
// switchyard's validation with the variables compose gives it.
func TestComposeConfig(t *testing.T) {
	cfg := loadConfig(t, "switchyard.yaml")
	if !strings.HasPrefix(cfg.Storage.Database, "postgres://") || cfg.Storage.Redis == "" {
		t.Errorf("storage = %+v: the shared deployment runs on PostgreSQL and Redis", cfg.Storage)
	}
}

func loadConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, config.MapEnv(secretEnv))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

// readStrict decodes a YAML file into v; strict refuses unknown fields.
func readStrict(t *testing.T, path string, v any, strict bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strict {
		err = yaml.UnmarshalStrict(data, v)
	} else {
		err = yaml.Unmarshal(data, v)
	}
	if err != nil {
		t.Errorf("%s: %v", path, err)
	}
}
