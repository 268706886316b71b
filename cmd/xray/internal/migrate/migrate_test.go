package migrate

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/xraytest"
)

// The fixtures in testdata are programs written against aws-xray-sdk-go
// v2, as public projects use it. Each test builds one against the real
// SDK, runs it against a UDP daemon, migrates it, builds and runs it again,
// and compares the shape of the traces.

// The versions of aws-xray-sdk-go the fixtures are built with: v2, and v1
// for the same programs with v1's import paths.
const (
	awsV2Version = "v2.0.3"
	awsV1Version = "v1.8.5"
)

// repoRoot is the OpenXRay checkout the migrated fixtures are built with.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// goCmd runs the go command in dir, outside any workspace.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "LAMBDA_TASK_ROOT=", "AWS_XRAY_DAEMON_ADDRESS=", "AWS_XRAY_SDK_DISABLED=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// fixture copies testdata/name into a module of its own that requires
// aws-xray-sdk-go v2.
func fixture(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return fixtureModule(t, dir, name, awsV2, awsV2Version)
}

// fixtureV1 is fixture with the program moved to aws-xray-sdk-go v1.
func fixtureV1(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	src = []byte(strings.ReplaceAll(string(src), awsV2+"/", awsV1+"/"))
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	return fixtureModule(t, dir, name, awsV1, awsV1Version)
}

func fixtureModule(t *testing.T, dir, name, module, version string) string {
	t.Helper()
	mod := fmt.Sprintf("module example.com/%s\n\ngo 1.26.0\n\nrequire %s %s\n", name, module, version)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, nil, "mod", "tidy")
	return dir
}

// traces runs the program in dir against a fresh daemon and returns the
// shapes of the segments it sent, sorted.
func traces(t *testing.T, dir string) []string {
	t.Helper()
	d := xraytest.NewDaemon(t)
	goCmd(t, dir, []string{"FIXTURE_DAEMON=" + d.Addr()}, "run", ".")
	docs := d.Settle(t, 10*time.Second)
	for _, doc := range docs {
		if err := xraytest.Validate(doc); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
	segs, orphans := xraytest.Assemble(docs)
	if len(orphans) > 0 {
		t.Errorf("%d subsegments without their segment", len(orphans))
	}
	var shapes []string
	for _, s := range segs {
		shapes = append(shapes, shape(s))
	}
	slices.Sort(shapes)
	return shapes
}

// shape describes a segment and its subsegments: names, namespaces, flags,
// annotation keys and which blocks they have. Two differences are
// deliberate and left out: aws-xray-sdk-go's HTTP client records
// connection phases as subsegments (connect, dns, dial, tls, request,
// response), where OpenXRay records them as metadata of the call's
// subsegment on request (xrayhttp.WithTimings); and it names an HTTP
// call's subsegment host:port, where OpenXRay, like the other AWS SDKs,
// names it after the host.
func shape(d xraytest.Document) string {
	var b strings.Builder
	name := d.String("name")
	if d.String("namespace") == "remote" && d.Object("http") != nil {
		if h, _, err := net.SplitHostPort(name); err == nil {
			name = h
		}
	}
	b.WriteString(name)
	if ns := d.String("namespace"); ns != "" {
		b.WriteString(" ns=" + ns)
	}
	for _, f := range []string{"fault", "error", "throttle"} {
		if d.Bool(f) {
			b.WriteString(" " + f)
		}
	}
	if d.Object("http") != nil {
		b.WriteString(" http")
	}
	if c := d.Object("cause"); c != nil {
		b.WriteString(" cause")
	}
	if a := d.Object("annotations"); len(a) > 0 {
		var keys []string
		for k := range a {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(" annotations=" + strings.Join(keys, ","))
	}
	var kids []string
	for _, s := range d.Subsegments() {
		switch s.String("name") {
		case "connect", "dns", "dial", "tls", "request", "response":
			continue
		}
		kids = append(kids, shape(s))
	}
	slices.Sort(kids)
	if len(kids) > 0 {
		b.WriteString(" [" + strings.Join(kids, "; ") + "]")
	}
	return b.String()
}

// migrate runs Run with -w on dir and fails on findings.
func migrate(t *testing.T, dir string, target Target) *Result {
	t.Helper()
	res, err := Run(Options{Dir: dir, Target: target, Write: true, Replace: repoRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		t.Errorf("finding: %s", f)
	}
	again, err := Run(Options{Dir: dir, Target: target})
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if again.Diff != "" || len(again.Findings) > 0 {
		t.Errorf("not idempotent: a second run changes\n%s", again.Diff)
	}
	return res
}

// TestPrefixSwap: a program that uses only the SDK's calls, written
// against aws-xray-sdk-go v2 or v1, moves to the compatibility tree by
// changing its import paths, and records the same traces.
func TestPrefixSwap(t *testing.T) {
	for _, v := range []struct {
		name    string
		fixture func(*testing.T, string) string
	}{{"v2", fixture}, {"v1", fixtureV1}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := v.fixture(t, "calls")
			before := traces(t, dir)
			res := migrate(t, dir, Compat)
			for _, line := range strings.Split(res.Diff, "\n") {
				if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "+++") || !(strings.HasPrefix(line, "-") || strings.HasPrefix(line, "+")) || strings.TrimSpace(line[1:]) == "" {
					continue
				}
				if !strings.Contains(line, "github.com/") {
					t.Errorf("the migration changed more than import paths and go.mod: %q", line)
				}
			}
			after := traces(t, dir)
			if !slices.Equal(before, after) {
				t.Errorf("trace shapes differ\naws-xray-sdk-go:\n  %s\nOpenXRay compat:\n  %s", strings.Join(before, "\n  "), strings.Join(after, "\n  "))
			}
			if len(after) != 3 {
				t.Errorf("want 3 segments (checkout and two inventory calls), got %d", len(after))
			}
		})
	}
}

// TestFieldsMigrate: a program that reads and writes segment fields (with a
// renamed and a dot import) builds and runs after xray migrate, to either
// target, with the same traces.
func TestFieldsMigrate(t *testing.T) {
	for _, target := range []Target{Compat, Core} {
		t.Run([]string{"compat", "core"}[target], func(t *testing.T) {
			t.Parallel()
			dir := fixture(t, "fields")
			before := traces(t, dir)
			migrate(t, dir, target)
			after := traces(t, dir)
			if !slices.Equal(before, after) {
				t.Errorf("trace shapes differ\naws-xray-sdk-go:\n  %s\nOpenXRay:\n  %s", strings.Join(before, "\n  "), strings.Join(after, "\n  "))
			}
		})
	}
}

// TestFindings: what cannot be rewritten is reported at its line, with a
// suggestion, and nothing is written without -w.
func TestFindings(t *testing.T) {
	t.Parallel()
	dir := fixture(t, "unsupported")
	src, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	res, err := Run(Options{Dir: dir, Target: Compat})
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "main.go")); string(now) != string(src) {
		t.Error("a run without Write changed the file")
	}
	want := map[string]bool{"GetHTTP": false, "xray.ContextKey": false, "field Namespace is read": false}
	for _, f := range res.Findings {
		if f.Pos.Line == 0 || !strings.HasSuffix(f.Pos.Filename, "main.go") || f.Suggestion == "" {
			t.Errorf("finding without position or suggestion: %+v", f)
		}
		for k := range want {
			if strings.Contains(f.Message, k) {
				want[k] = true
			}
		}
	}
	for k, found := range want {
		if !found {
			t.Errorf("no finding for %s; got %v", k, res.Findings)
		}
	}
	if !strings.Contains(res.Diff, "+\t\"github.com/openxray/xray/compat/xray\"") {
		t.Errorf("diff without the import rewrite:\n%s", res.Diff)
	}
}
