// Package migrate rewrites a Go module that uses aws-xray-sdk-go (v1 or v2)
// to OpenXRay: the import paths, and, from the type-checked program (not
// from text), the uses of segment fields and of functions that have no
// counterpart under the same name. It targets either the compatibility
// tree (github.com/openxray/xray/compat, the smallest diff) or the core API
// (github.com/openxray/xray and its integrations, idiomatic calls). What it
// cannot rewrite is reported with its position and a suggestion.
package migrate

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"golang.org/x/tools/go/ast/astutil"
	"golang.org/x/tools/go/packages"
)

// Target is what the program is migrated to.
type Target int

const (
	// Compat targets the compatibility tree: import paths change, and the
	// segment fields that the tree has not are rewritten.
	Compat Target = iota
	// Core targets the core API: segment fields become method calls, and
	// functions move to the packages that have them (xrayhttp, xraysql).
	Core
)

// ParseTarget reads "compat" or "core".
func ParseTarget(s string) (Target, error) {
	switch s {
	case "compat", "":
		return Compat, nil
	case "core":
		return Core, nil
	}
	return 0, fmt.Errorf("unknown target %q (compat or core)", s)
}

// The module paths involved.
const (
	awsV2      = "github.com/aws/aws-xray-sdk-go/v2"
	awsV1      = "github.com/aws/aws-xray-sdk-go"
	coreModule = "github.com/openxray/xray"
	compatPath = coreModule + "/compat"
)

// Options configure Run.
type Options struct {
	// Dir is the module's root directory ("" means the current one).
	Dir string
	// Patterns are the packages to migrate (default ./...).
	Patterns []string
	// Target is what to migrate to.
	Target Target
	// Write writes the files and go.mod; otherwise Run only reports.
	Write bool
	// Version is the version of OpenXRay's modules to require (default
	// DefaultVersion).
	Version string
	// Replace, when set, is a local checkout of OpenXRay that go.mod
	// replaces the modules with (for unpublished versions and tests).
	Replace string
	// NoTidy skips `go mod tidy` after writing.
	NoTidy bool
}

// DefaultVersion is the version of OpenXRay required by default.
const DefaultVersion = "v0.1.0"

// Finding is something Run could not rewrite.
type Finding struct {
	Pos        token.Position
	Message    string
	Suggestion string
}

// String formats the finding as file:line:col: message; suggestion.
func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s", f.Pos, f.Message)
	if f.Suggestion != "" {
		s += "; " + f.Suggestion
	}
	return s
}

// Result is what Run found and did.
type Result struct {
	// Files maps each changed file to its new content.
	Files map[string][]byte
	// GoMod is the new go.mod, when it changes.
	GoMod []byte
	// Findings are the places left to the user.
	Findings []Finding
	// Diff is a unified diff of every change.
	Diff string
}

// Run migrates the module in opts.Dir.
func Run(opts Options) (*Result, error) {
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	patterns := opts.Patterns
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	cfg := &packages.Config{
		Mode:  packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports,
		Dir:   dir,
		Tests: true,
		Env:   append(os.Environ(), "GOWORK=off"),
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("loading packages: %w", err)
	}
	var loadErrs []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			loadErrs = append(loadErrs, e.Error())
		}
	})
	if len(loadErrs) > 0 {
		return nil, fmt.Errorf("the module does not build as it is:\n%s", strings.Join(loadErrs, "\n"))
	}

	res := &Result{Files: map[string][]byte{}}
	seen := map[string]bool{}
	var diff strings.Builder
	usesCompat, usesCore := false, false
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			name := p.Fset.File(f.Pos()).Name()
			if seen[name] {
				continue
			}
			seen[name] = true
			src, err := os.ReadFile(name)
			if err != nil {
				return nil, err
			}
			fm := &fileMigration{target: opts.Target, fset: p.Fset, file: f, info: p.TypesInfo, src: src}
			out, err := fm.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			res.Findings = append(res.Findings, fm.findings...)
			usesCompat = usesCompat || fm.usesCompat
			usesCore = usesCore || fm.usesCore
			if out == nil || bytes.Equal(out, src) {
				continue
			}
			res.Files[name] = out
			rel, _ := filepath.Rel(dir, name)
			writeDiff(&diff, rel, src, out)
		}
	}

	modPath := filepath.Join(dir, "go.mod")
	oldMod, err := os.ReadFile(modPath)
	if err != nil {
		return nil, err
	}
	if len(res.Files) > 0 || mentionsAWS(oldMod) {
		newMod, err := updateGoMod(modPath, oldMod, opts, usesCompat, usesCore)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(newMod, oldMod) {
			res.GoMod = newMod
			writeDiff(&diff, "go.mod", oldMod, newMod)
		}
	}
	res.Diff = diff.String()
	sort.Slice(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i].Pos, res.Findings[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})

	if !opts.Write {
		return res, nil
	}
	for name, b := range res.Files {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return nil, err
		}
	}
	if res.GoMod != nil {
		if err := os.WriteFile(modPath, res.GoMod, 0o644); err != nil {
			return nil, err
		}
	}
	if !opts.NoTidy && (res.GoMod != nil || len(res.Files) > 0) {
		cmd := exec.Command("go", "mod", "tidy")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return res, fmt.Errorf("go mod tidy: %v\n%s", err, out)
		}
	}
	return res, nil
}

// Report writes the findings, one per line.
func (r *Result) Report(w io.Writer) {
	for _, f := range r.Findings {
		fmt.Fprintln(w, f)
	}
}

func writeDiff(w io.Writer, name string, a, b []byte) {
	d := difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(a)),
		B:        difflib.SplitLines(string(b)),
		FromFile: "a/" + filepath.ToSlash(name),
		ToFile:   "b/" + filepath.ToSlash(name),
		Context:  3,
	}
	difflib.WriteUnifiedDiff(w, d)
}

// awsPackage returns the path of an aws-xray-sdk-go package relative to
// its module ("xray", "strategy/sampling"), or "" for any other path.
func awsPackage(path string) string {
	for _, m := range []string{awsV2, awsV1} {
		if rel, ok := strings.CutPrefix(path, m+"/"); ok {
			if m == awsV1 && strings.HasPrefix(rel, "v2/") {
				continue
			}
			return rel
		}
	}
	return ""
}

// compatPackages are the packages the compatibility tree has.
var compatPackages = map[string]bool{
	"xray": true, "header": true, "strategy/sampling": true, "strategy/ctxmissing": true,
	"strategy/exception": true, "xraylog": true, "daemoncfg": true, "awsplugins/ec2": true,
	"awsplugins/ecs": true, "awsplugins/beanstalk": true, "instrumentation/awsv2": true, "lambda": true,
}

// corePackages are the aws-xray-sdk-go packages with a counterpart in the
// core under the core target; the others go to the compatibility tree.
var corePackages = map[string]string{
	"xray":   coreModule,
	"header": coreModule + "/header",
}

// fileMigration rewrites one file.
type fileMigration struct {
	target Target
	fset   *token.FileSet
	file   *ast.File
	info   *types.Info
	src    []byte

	edits      []edit
	addImports map[string]bool
	findings   []Finding
	usesCompat bool
	usesCore   bool
	configured bool // an xray.Config literal was seen (core target)
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

func (m *fileMigration) off(p token.Pos) int { return m.fset.Position(p).Offset }

func (m *fileMigration) replace(from, to token.Pos, text string) {
	m.edits = append(m.edits, edit{m.off(from), m.off(to), text})
}

func (m *fileMigration) report(p token.Pos, msg, suggestion string) {
	m.findings = append(m.findings, Finding{Pos: m.fset.Position(p), Message: msg, Suggestion: suggestion})
}

func (m *fileMigration) run() ([]byte, error) {
	if !m.importsAWS() {
		return nil, nil
	}
	m.rewriteImports()
	m.rewriteUses()
	if m.target == Core && !m.configured && m.file.Name.Name == "main" {
		for _, d := range m.file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "main" && fn.Recv == nil {
				m.report(fn.Pos(), "the program records with the default recorder, which sends from a goroutine (aws-xray-sdk-go sent each segment as it closed)",
					"call xray.Flush(ctx) before main returns, or xray.Configure(xray.Config{SyncSend: true})")
			}
		}
	}
	if len(m.edits) == 0 {
		return nil, nil
	}
	out, err := m.apply()
	if err != nil {
		return nil, err
	}
	return m.fixImports(out)
}

func (m *fileMigration) importsAWS() bool {
	for _, imp := range m.file.Imports {
		if awsPackage(importPath(imp)) != "" {
			return true
		}
	}
	return false
}

func importPath(imp *ast.ImportSpec) string { return strings.Trim(imp.Path.Value, "`\"") }

func (m *fileMigration) rewriteImports() {
	for _, imp := range m.file.Imports {
		rel := awsPackage(importPath(imp))
		if rel == "" {
			continue
		}
		if m.target == Core {
			if p, ok := corePackages[rel]; ok {
				m.usesCore = true
				m.replace(imp.Path.Pos(), imp.Path.End(), `"`+p+`"`)
				continue
			}
		}
		if !compatPackages[rel] {
			m.report(imp.Pos(), fmt.Sprintf("package %s has no counterpart in OpenXRay", importPath(imp)),
				"remove it; see the compat package documentation for what replaces it")
			continue
		}
		m.usesCompat = true
		m.replace(imp.Path.Pos(), imp.Path.End(), `"`+compatPath+"/"+rel+`"`)
	}
}

// apply returns src with the edits made. Overlapping edits keep the first
// and report the others.
func (m *fileMigration) apply() ([]byte, error) {
	slices.SortStableFunc(m.edits, func(a, b edit) int { return a.start - b.start })
	var out bytes.Buffer
	last := 0
	for _, e := range m.edits {
		if e.start < last {
			m.findings = append(m.findings, Finding{
				Pos:        m.fset.File(m.file.Pos()).Position(m.fset.File(m.file.Pos()).Pos(e.start)),
				Message:    "two rewrites meet here; the second was not made",
				Suggestion: "run xray migrate again after this pass, or rewrite it by hand",
			})
			continue
		}
		out.Write(m.src[last:e.start])
		out.WriteString(e.text)
		last = e.end
	}
	out.Write(m.src[last:])
	return out.Bytes(), nil
}

// fixImports adds the imports the rewrites need, removes the ones they
// made unused, and formats the file.
func (m *fileMigration) fixImports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("rewritten file does not parse (please report this): %w", err)
	}
	for p := range m.addImports {
		astutil.AddImport(fset, f, p)
	}
	for _, imp := range f.Imports {
		p := importPath(imp)
		if imp.Name != nil && (imp.Name.Name == "_" || imp.Name.Name == ".") {
			continue
		}
		if (p == coreModule || strings.HasPrefix(p, coreModule+"/")) && !astutil.UsesImport(f, p) {
			name := ""
			if imp.Name != nil {
				name = imp.Name.Name
			}
			astutil.DeleteNamedImport(fset, f, name, p)
		}
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, err
	}
	return format.Source(buf.Bytes())
}
