package render

import (
	"errors"
	"io/fs"
	"path"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// plainKustomization writes the kustomization for a directory that has none, the way Flux's
// kustomize-controller does (fluxcd/pkg kustomize.Generator): it walks the directory in lexical
// order; a subdirectory that has its own kustomization becomes one resources entry and is not
// descended into; every other file ending in .yaml or .yml becomes a resources entry; anything
// else (README.md, .json, scripts) is ignored. Hidden files and directories are walked like any
// other, as Flux does. Flux then builds that kustomization; so does Build, from memory, without
// writing into the tree.
//
// Unlike Flux, a directory with nothing to render is an error: an environment path that renders
// to nothing is far more likely a wrong path than an intentionally empty environment, and
// applying nothing with pruning on would delete everything.
func plainKustomization(tree fs.FS, files map[string][]byte, dir string) ([]byte, error) {
	var resources []string
	err := fs.WalkDir(tree, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel := p // WalkDir of "." gives "x", not "./x"
		if dir != "." {
			rel = p[len(dir)+1:]
		}
		if d.IsDir() {
			kf, _, err := kustomizationFile(tree, files, p)
			if err != nil {
				return err
			}
			if kf != "" {
				resources = append(resources, rel)
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			resources = append(resources, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(resources) == 0 {
		return nil, errors.New("directory has no kustomization.yaml and no .yaml or .yml files to render")
	}
	return yaml.Marshal(types.Kustomization{
		TypeMeta:  types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources: resources,
		// See withOrigins in build.go.
		BuildMetadata: []string{types.OriginAnnotations},
	})
}
