package migrate

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
)

// isAWSSegment reports whether t is aws-xray-sdk-go's xray.Segment or a
// pointer to it.
func isAWSSegment(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	return n.Obj().Name() == "Segment" && awsPackage(n.Obj().Pkg().Path()) == "xray"
}

// compatFields are the Segment fields the compatibility tree keeps.
var compatFields = map[string]bool{
	"TraceID": true, "ID": true, "ParentID": true, "Sampled": true, "RequestWasTraced": true, "ParentSegment": true,
}

// readers maps a field read to the core's method.
var readers = map[string]string{
	"TraceID": "TraceID()", "ID": "ID()", "ParentID": "ParentID()", "Sampled": "Sampled()", "Name": "Name()",
	"Fault": "Fault()", "Error": "Error()", "Throttle": "Throttle()", "ParentSegment": "Segment()",
}

// setters maps a field write to the core's setter.
var setters = map[string]string{
	"Name": "SetName", "Namespace": "SetNamespace", "User": "SetUser", "Origin": "SetOrigin",
}

// flags maps a flag field set to true to the core's method.
var flags = map[string]string{
	"Fault": "AddFaultFlag()", "Error": "AddErrorFlag()", "Throttle": "AddThrottleFlag()",
}

// getters are Segment methods that hand out the segment's data to be
// read or changed in place.
var getters = map[string]string{
	"GetHTTP":    "set it with Core().SetHTTPRequest / SetHTTPResponse",
	"GetSQL":     "set it with Core().SetSQL",
	"GetAWS":     "set entries with Core().SetAWS",
	"GetCause":   "record errors with AddError or Close(err)",
	"GetService": "the service block is written by the recorder (Config.ServiceVersion)",
}

// coreFuncs are the aws-xray-sdk-go xray functions the core has with the
// same name and signature.
var coreFuncs = map[string]bool{
	"BeginSegment": true, "BeginSubsegment": true, "Capture": true, "CaptureAsync": true,
	"AddAnnotation": true, "AddMetadata": true, "AddMetadataToNamespace": true, "AddError": true,
	"GetSegment": true, "TraceID": true, "DetachContext": true, "Configure": true,
}

// moved maps aws-xray-sdk-go xray functions to the core package that has
// them under the core target.
var moved = map[string][2]string{
	"Handler":                {coreModule + "/xrayhttp", "xrayhttp.Handler"},
	"Client":                 {coreModule + "/xrayhttp", "xrayhttp.Client"},
	"RoundTripper":           {coreModule + "/xrayhttp", "xrayhttp.RoundTripper"},
	"NewFixedSegmentNamer":   {coreModule + "/xrayhttp", "xrayhttp.NewFixedSegmentNamer"},
	"NewDynamicSegmentNamer": {coreModule + "/xrayhttp", "xrayhttp.NewDynamicSegmentNamer"},
	"SQLContext":             {coreModule + "/xraysql", "xraysql.Open"},
}

// movedTypes maps aws-xray-sdk-go xray types to the core package that has
// them under the core target.
var movedTypes = map[string][2]string{
	"SegmentNamer":        {coreModule + "/xrayhttp", "xrayhttp.SegmentNamer"},
	"FixedSegmentNamer":   {coreModule + "/xrayhttp", "xrayhttp.FixedSegmentNamer"},
	"DynamicSegmentNamer": {coreModule + "/xrayhttp", "xrayhttp.DynamicSegmentNamer"},
}

// coreConfigFields are the xray.Config fields the core's Config has with
// the same meaning and type.
var coreConfigFields = map[string]bool{"DaemonAddr": true, "ServiceVersion": true, "ContextMissingStrategy": true}

// rewriteUses walks the file for segment fields, segment methods and
// package functions that need more than the import swap.
func (m *fileMigration) rewriteUses() {
	// Field writes are statements; the walk sees the assignment before
	// its left-hand side, so it remembers which selectors it handled.
	handled := map[*ast.SelectorExpr]bool{}
	selected := map[*ast.Ident]bool{} // the names after a dot
	ast.Inspect(m.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 && n.Tok == token.ASSIGN {
				if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok && m.segmentField(sel) {
					handled[sel] = true
					m.fieldWrite(sel, n.Rhs[0])
				}
			}
		case *ast.ExprStmt:
			if m.target == Core && m.isLockCall(n.X) {
				m.replace(n.Pos(), n.End(), "// (the core locks the segment itself)")
				return false
			}
		case *ast.DeferStmt:
			if m.target == Core && m.isLockCall(n.Call) {
				m.replace(n.Pos(), n.End(), "// (the core locks the segment itself)")
				return false
			}
		case *ast.SelectorExpr:
			selected[n.Sel] = true
			if handled[n] {
				return true
			}
			if m.segmentField(n) {
				m.fieldRead(n)
				return true
			}
			if m.segmentGetter(n) {
				return true
			}
			if obj, ok := m.info.Uses[n.Sel]; ok {
				m.packageObject(n, n.Sel, obj)
			}
		case *ast.CompositeLit:
			m.configLiteral(n)
		case *ast.Ident:
			// A dot-imported name.
			if obj, ok := m.info.Uses[n]; ok && !selected[n] && m.isDotImported(n, obj) {
				m.packageObject(nil, n, obj)
			}
		}
		return true
	})
}

// segmentField reports whether sel selects a field of an aws Segment.
func (m *fileMigration) segmentField(sel *ast.SelectorExpr) bool {
	s, ok := m.info.Selections[sel]
	return ok && s.Kind() == types.FieldVal && isAWSSegment(s.Recv())
}

func (m *fileMigration) isLockCall(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || (sel.Sel.Name != "Lock" && sel.Sel.Name != "Unlock" && sel.Sel.Name != "RLock" && sel.Sel.Name != "RUnlock") {
		return false
	}
	s, ok := m.info.Selections[sel]
	return ok && isAWSSegment(s.Recv())
}

// prefix is what goes between a segment expression and a core method: the
// compat view's Core() or nothing.
func (m *fileMigration) prefix() string {
	if m.target == Compat {
		return ".Core()."
	}
	return "."
}

func (m *fileMigration) fieldRead(sel *ast.SelectorExpr) {
	f := sel.Sel.Name
	if m.target == Compat && compatFields[f] {
		return
	}
	if r, ok := readers[f]; ok {
		m.replace(sel.X.End(), sel.Sel.End(), m.prefix()+r)
		return
	}
	m.report(sel.Pos(), fmt.Sprintf("segment field %s is read", f), "OpenXRay's segments have no such getter; keep what you need in a variable of your own")
}

func (m *fileMigration) fieldWrite(sel *ast.SelectorExpr, rhs ast.Expr) {
	f := sel.Sel.Name
	if s, ok := setters[f]; ok {
		m.replace(sel.X.End(), rhs.Pos(), m.prefix()+s+"(")
		m.replace(rhs.End(), rhs.End(), ")")
		return
	}
	if fl, ok := flags[f]; ok {
		if id, isIdent := rhs.(*ast.Ident); isIdent && id.Name == "true" && m.info.Uses[id] == types.Universe.Lookup("true") {
			m.replace(sel.X.End(), rhs.End(), m.prefix()+fl)
			return
		}
		m.report(sel.Pos(), fmt.Sprintf("segment flag %s is set to a computed value", f), "call "+fl+" when the value is true; flags cannot be cleared")
		return
	}
	m.report(sel.Pos(), fmt.Sprintf("segment field %s is written", f), "the recorder sets it; use the segment's methods (Core() in the compat tree)")
}

// segmentGetter reports, for sel a call of a Segment getter, that it is
// left to the user.
func (m *fileMigration) segmentGetter(sel *ast.SelectorExpr) bool {
	s, ok := m.info.Selections[sel]
	if !ok || s.Kind() != types.MethodVal || !isAWSSegment(s.Recv()) {
		return false
	}
	if hint, ok := getters[sel.Sel.Name]; ok {
		m.report(sel.Pos(), fmt.Sprintf("%s returns the segment's data to change in place, which OpenXRay does not expose", sel.Sel.Name), hint)
		return true
	}
	return false
}

// isDotImported reports whether id names an object of a dot-imported aws
// package.
func (m *fileMigration) isDotImported(id *ast.Ident, obj types.Object) bool {
	if obj.Pkg() == nil || awsPackage(obj.Pkg().Path()) == "" {
		return false
	}
	if _, isField := obj.(*types.Var); isField && obj.(*types.Var).IsField() {
		return false
	}
	for _, imp := range m.file.Imports {
		if imp.Name != nil && imp.Name.Name == "." && importPath(imp) == obj.Pkg().Path() {
			return obj.Parent() == obj.Pkg().Scope()
		}
	}
	return false
}

// packageObject handles a use of a package-level object of aws-xray-sdk-go
// (sel is nil for a dot-imported name).
func (m *fileMigration) packageObject(sel *ast.SelectorExpr, id *ast.Ident, obj types.Object) {
	if obj.Pkg() == nil || awsPackage(obj.Pkg().Path()) != "xray" || obj.Parent() != obj.Pkg().Scope() {
		return
	}
	name := obj.Name()
	start, qual := id.Pos(), ""
	if sel != nil {
		start = sel.Pos()
		if x, ok := sel.X.(*ast.Ident); ok {
			qual = x.Name + "."
		}
	}
	switch {
	case m.target == Compat:
		// Everything of the package is in the tree under the same name
		// but for what its documentation lists.
		switch name {
		case "ContextKey", "NewFastHTTPInstrumentor", "NewClientTrace", "NewHTTPSubsegments", "HTTPData", "RequestData",
			"ResponseData", "SQLData", "ServiceData", "CauseData", "SDK", "ClientTrace", "HTTPSubsegments", "FastHTTPHandler",
			"ContextKeytype", "SDKInitializedFileFolder", "SDKInitializedFileName", "AWS", "AWSWithContext", "AWSSession":
			m.report(id.Pos(), "xray."+name+" has no counterpart in the compat tree", "see the compat xray package documentation")
		}
		return
	}
	switch _, isFunc := obj.(*types.Func); {
	case isFunc && coreFuncs[name]:
		return
	case isFunc && (name == "NewSegmentFromHeader" || name == "BeginSegmentWithSampling"):
		m.replace(id.Pos(), id.End(), "BeginSegment")
		m.wrapHeaderArg(id, qual)
	case isFunc && name == "BeginSubsegmentWithoutSampling":
		m.replace(id.Pos(), id.End(), "BeginSubsegment")
	case isFunc && name == "BeginFacadeSegment":
		m.replace(id.Pos(), id.End(), "Default().BeginFacadeSegment")
		m.dropArg(id, 1)
	case isFunc && moved[name] != [2]string{}:
		mv := moved[name]
		m.replace(start, id.End(), mv[1])
		m.need(mv[0])
	case !isFunc && movedTypes[name] != [2]string{}:
		mv := movedTypes[name]
		m.replace(start, id.End(), mv[1])
		m.need(mv[0])
	case name == "Config" || name == "Segment" || name == "Emitter":
		// Same names in the core; Config's fields are checked in
		// configLiteral.
	default:
		m.report(id.Pos(), "xray."+name+" has no counterpart in the core", "migrate to the compat tree (--to compat) or see the README's migration table")
	}
}

func (m *fileMigration) need(path string) {
	if m.addImports == nil {
		m.addImports = map[string]bool{}
	}
	m.addImports[path] = true
	m.usesCore = true
}

// callOf returns the call whose function is (or ends in) id.
func (m *fileMigration) callOf(id *ast.Ident) *ast.CallExpr {
	var found *ast.CallExpr
	ast.Inspect(m.file, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if c, ok := n.(*ast.CallExpr); ok {
			switch f := c.Fun.(type) {
			case *ast.Ident:
				if f == id {
					found = c
				}
			case *ast.SelectorExpr:
				if f.Sel == id {
					found = c
				}
			}
		}
		return true
	})
	return found
}

// wrapHeaderArg turns NewSegmentFromHeader(ctx, name, r, h) into
// BeginSegment(ctx, name, WithTraceHeader(h)).
func (m *fileMigration) wrapHeaderArg(id *ast.Ident, qual string) {
	c := m.callOf(id)
	if c == nil || len(c.Args) != 4 {
		m.report(id.Pos(), "call of "+id.Name+" not rewritten", "use BeginSegment(ctx, name, xray.WithTraceHeader(h))")
		return
	}
	m.replace(c.Args[2].Pos(), c.Args[3].Pos(), "")
	m.replace(c.Args[3].Pos(), c.Args[3].Pos(), qual+"WithTraceHeader(")
	m.replace(c.Args[3].End(), c.Args[3].End(), ")")
}

// dropArg removes argument i of the call of id.
func (m *fileMigration) dropArg(id *ast.Ident, i int) {
	c := m.callOf(id)
	if c == nil || len(c.Args) <= i+1 {
		m.report(id.Pos(), "call of "+id.Name+" not rewritten", "see the core's documentation")
		return
	}
	m.replace(c.Args[i].Pos(), c.Args[i+1].Pos(), "")
}

// configLiteral checks an xray.Config literal under the core target:
// SamplingStrategy is converted, fields the core's Config has not are
// reported.
func (m *fileMigration) configLiteral(lit *ast.CompositeLit) {
	if m.target != Core {
		return
	}
	t := m.info.TypeOf(lit)
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Name() != "Config" || n.Obj().Pkg() == nil || awsPackage(n.Obj().Pkg().Path()) != "xray" {
		return
	}
	m.configured = true
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			m.report(e.Pos(), "positional xray.Config literal", "name the fields")
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil || coreConfigFields[key.Name] {
			continue
		}
		if key.Name == "SamplingStrategy" {
			m.replace(kv.Value.Pos(), kv.Value.Pos(), "sampling.Core(")
			m.replace(kv.Value.End(), kv.Value.End(), ")")
			m.usesCompat = true
			continue
		}
		m.report(kv.Pos(), "xray.Config."+key.Name+" has no counterpart in the core's Config", "remove it (the core's Config documents its fields)")
	}
	// aws-xray-sdk-go sends each segment as it closes, and its programs
	// never flush: keep that. (After the loop: edits at one offset are
	// made in the order they are added.)
	if len(lit.Elts) == 0 {
		m.replace(lit.Rbrace, lit.Rbrace, "SyncSend: true")
	} else {
		m.replace(lit.Elts[len(lit.Elts)-1].End(), lit.Elts[len(lit.Elts)-1].End(), ", SyncSend: true")
	}
}
