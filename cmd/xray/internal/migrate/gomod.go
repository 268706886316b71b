package migrate

import (
	"bytes"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// mentionsAWS reports whether go.mod requires aws-xray-sdk-go.
func mentionsAWS(mod []byte) bool {
	return bytes.Contains(mod, []byte(awsV1))
}

// updateGoMod drops aws-xray-sdk-go from go.mod and requires the OpenXRay
// modules the rewritten code imports, replaced by a local checkout when
// opts.Replace is set.
func updateGoMod(path string, src []byte, opts Options, compat, core bool) ([]byte, error) {
	f, err := modfile.Parse(path, src, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range f.Require {
		if p := r.Mod.Path; p == awsV1 || p == awsV2 {
			if err := f.DropRequire(p); err != nil {
				return nil, err
			}
		}
	}
	version := opts.Version
	if version == "" {
		version = DefaultVersion
	}
	var mods []string
	if core {
		mods = append(mods, coreModule)
	}
	if compat {
		mods = append(mods, compatPath)
	}
	for _, m := range mods {
		if err := f.AddRequire(m, version); err != nil {
			return nil, err
		}
	}
	if opts.Replace != "" && len(mods) > 0 {
		root, err := filepath.Abs(opts.Replace)
		if err != nil {
			return nil, err
		}
		// A replace in the compat module's own go.mod does not apply to
		// the modules that require it: each local module is named here.
		local := map[string]string{coreModule: root}
		if compat {
			local[compatPath] = filepath.Join(root, "compat")
			local[coreModule+"/contrib/xrayaws"] = filepath.Join(root, "contrib", "xrayaws")
			local[coreModule+"/contrib/xraygrpc"] = filepath.Join(root, "contrib", "xraygrpc")
		}
		for m, dir := range local {
			if err := f.AddReplace(m, "", dir, ""); err != nil {
				return nil, err
			}
		}
	}
	f.Cleanup()
	f.SortBlocks()
	out, err := f.Format()
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(string(out), "\n") {
		out = append(out, '\n')
	}
	return out, nil
}
