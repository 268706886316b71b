package xraysigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraysigv4"
	"github.com/openxray/xray/sampling"
)

// verifier is an OTLP endpoint that checks each request's SigV4
// signature the way AWS does: it signs the same request (the headers the
// client signed, the body's hash, the time in X-Amz-Date) with the secret
// it knows and compares the results.
type verifier struct {
	*httptest.Server
	creds aws.Credentials
	mu    sync.Mutex
	ok    int
	bad   []string
}

func newVerifier(t *testing.T, creds aws.Credentials) *verifier {
	v := &verifier{creds: creds}
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if why := v.check(r, body); why != "" {
			v.mu.Lock()
			v.bad = append(v.bad, why)
			v.mu.Unlock()
			http.Error(w, why, http.StatusForbidden)
			return
		}
		v.mu.Lock()
		v.ok++
		v.mu.Unlock()
	}))
	t.Cleanup(v.Close)
	return v
}

func (v *verifier) check(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return "no SigV4 Authorization header"
	}
	var credential, signedHeaders string
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = val
		case "SignedHeaders":
			signedHeaders = val
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[0] != v.creds.AccessKeyID || scope[3] != "xray" || scope[4] != "aws4_request" {
		return "credential scope " + credential
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "X-Amz-Date: " + err.Error()
	}
	sum := sha256.Sum256(body)
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != "" && got != hex.EncodeToString(sum[:]) {
		return "body hash differs"
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	for _, h := range strings.Split(signedHeaders, ";") {
		if h != "host" && h != "x-amz-date" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	again.ContentLength = r.ContentLength
	if err := v4.NewSigner().SignHTTP(context.Background(), v.creds, again, hex.EncodeToString(sum[:]), "xray", scope[2], when); err != nil {
		return err.Error()
	}
	if again.Header.Get("Authorization") != auth {
		return "signature mismatch"
	}
	return ""
}

func export(t *testing.T, otlp xray.OTLPConfig) *xray.Recorder {
	t.Helper()
	r, err := xray.New(xray.Config{Exporters: []string{xray.ExporterOTLP}, OTLP: otlp, SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	ctx, seg := r.BeginSegment(context.Background(), "signed")
	_, sub := seg.BeginSubsegment(ctx, "work")
	sub.Close(nil)
	seg.Close(nil)
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// Credentials and region from the standard chain (here the environment),
// gzip bodies signed as sent, verified by the server.
func TestSignedExport(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	v := newVerifier(t, aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"})

	otlp, err := xraysigv4.OTLPConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if otlp.Endpoint != "https://xray.eu-central-1.amazonaws.com/v1/traces" {
		t.Errorf("endpoint %q", otlp.Endpoint)
	}
	otlp.Endpoint = v.URL + "/v1/traces" // the local verifier stands in for X-Ray
	r := export(t, otlp)
	if st := r.OTLP().Stats(); st.Spans != 2 || st.DroppedRejected != 0 {
		t.Errorf("stats %+v", st)
	}
	if v.ok != 1 || len(v.bad) != 0 {
		t.Errorf("verified %d, refused %v", v.ok, v.bad)
	}
}

// A wrong secret is refused by the verifier and counted as rejected.
func TestWrongSecretIsRefused(t *testing.T) {
	v := newVerifier(t, aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "the-real-secret"})
	otlp, err := xraysigv4.FromAWSConfig(aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "a-wrong-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	otlp.Endpoint = v.URL + "/v1/traces"
	r := export(t, otlp)
	if st := r.OTLP().Stats(); st.DroppedRejected != 2 {
		t.Errorf("stats %+v", st)
	}
	if len(v.bad) != 1 || v.bad[0] != "signature mismatch" {
		t.Errorf("verifier: %v", v.bad)
	}
	if _, err := xraysigv4.FromAWSConfig(aws.Config{}); err == nil {
		t.Error("no region accepted")
	}
}
