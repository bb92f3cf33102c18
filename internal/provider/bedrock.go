package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// bedrockService is the SigV4 signing name of Bedrock Runtime.
const bedrockService = "bedrock"

// hvAWSEventStream is the Accept of a ConverseStream request: its answer's
// media type.
var hvAWSEventStream = []string{"application/vnd.amazon.eventstream"}

// newBedrock builds an Amazon Bedrock provider (the Converse API). It
// signs with a Bedrock API key (api_key, sent as a bearer token), or with
// SigV4: the configured access key, or else the standard AWS credential
// chain, cached and refreshed by the SDK. Requests go to
// /model/{modelId}/converse[-stream] below the base URL (by default
// https://bedrock-runtime.{region}.amazonaws.com).
func newBedrock(cfg *config.Provider, shared http.RoundTripper) (*Provider, error) {
	p := &Provider{
		Name:             cfg.Name,
		Type:             cfg.Type,
		Format:           FormatBedrock,
		BaseURL:          strings.TrimRight(cfg.BaseURL, "/"),
		Timeout:          cfg.Timeout,
		FirstByteTimeout: cfg.FirstByteTimeout,
		IdleTimeout:      cfg.IdleTimeout,
		Models:           cfg.Models,
		rt:               transportFor(cfg, shared),
		headers:          headersOf(cfg),
		streamAccept:     hvAWSEventStream,
	}
	if cfg.APIKey != "" {
		p.secret = cfg.APIKey.Reveal()
		p.Signer = StaticHeader("Authorization", "Bearer ", p.secret)
		return p, nil
	}
	var creds aws.CredentialsProvider
	if cfg.AccessKeyID != "" {
		creds = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey.Reveal(), cfg.SessionToken.Reveal())
		p.secret = cfg.SecretAccessKey.Reveal()
	} else {
		// Loads the environment and the shared config files now; the
		// credentials themselves are fetched (SSO, STS, IMDS…) at the
		// first request, by the transport the SDK builds for them.
		ac, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("loading the AWS default configuration: %w", err)
		}
		if ac.Credentials == nil {
			return nil, errors.New("the AWS default credential chain offers no credentials; set access_key_id and secret_access_key, or api_key")
		}
		creds = ac.Credentials
	}
	p.Signer = &SigV4{Credentials: aws.NewCredentialsCache(creds), Region: cfg.Region, Service: bedrockService}
	return p, nil
}

// SigV4 signs requests with AWS Signature Version 4 (aws-sdk-go-v2's
// signer): the payload's SHA-256, the method, path, query and headers,
// with a key derived from the secret for the date, region and service.
// Credentials come from Credentials, which should cache them
// (aws.CredentialsCache refreshes them before they expire).
type SigV4 struct {
	Credentials aws.CredentialsProvider
	Region      string
	Service     string
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	last atomic.Pointer[aws.Credentials] // the credentials of the last signature, for Scrub
	// signer is this provider's own: the SDK's signer caches the derived
	// signing key by access key id, region and service, not by secret, so
	// a signer shared by two providers with one access key id and two
	// secrets (or a secret changed by a reload) would sign with the other's.
	once   sync.Once
	signer *v4.Signer
}

// Sign implements Signer.
func (s *SigV4) Sign(req *http.Request, body []byte) error {
	ctx := req.Context()
	c, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		// The SDK's errors name the provider that failed, not secrets.
		return fmt.Errorf("getting AWS credentials: %w", err)
	}
	if old := s.last.Load(); old == nil || *old != c {
		s.last.Store(&c)
	}
	sum := sha256.Sum256(body)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	s.once.Do(func() { s.signer = v4.NewSigner() })
	// The signer rewrites Authorization in place; never into a slice
	// shared with the provider's configured headers.
	delete(req.Header, "Authorization")
	if err := s.signer.SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), s.Service, s.Region, now().UTC()); err != nil {
		return fmt.Errorf("signing with SigV4: %w", err)
	}
	return nil
}

// Scrub redacts the secret key and session token of the credentials last
// signed with, which rotate (an upstream error that echoes the request's
// headers could carry the token).
func (s *SigV4) Scrub(text string) string {
	c := s.last.Load()
	if c == nil {
		return text
	}
	for _, v := range []string{c.SecretAccessKey, c.SessionToken} {
		if len(v) >= 8 {
			text = strings.ReplaceAll(text, v, "[redacted]")
		}
	}
	return text
}
