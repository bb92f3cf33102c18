// Package deploy holds the files that run Switchyard in containers: the
// Dockerfile, a compose file with PostgreSQL, Redis and two instances behind
// nginx, and Kubernetes manifests. Its tests lint them with the libraries
// the tools themselves use (BuildKit's Dockerfile parser and linter,
// compose-go with the Compose specification's schema, the Kubernetes API
// types decoded strictly) and check that the config they run passes
// switchyard's own validation.
package deploy
