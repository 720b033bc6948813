// Package render turns a directory of a Git tree into Kubernetes objects: kustomize in process
// (krusty) over a read-only view of the tree that reads files on demand, or the plain YAML files of a directory that has no
// kustomization, the way Flux does.
//
// Rendering is sandboxed: every path of every kustomization and of every generator, transformer
// and validator configuration is checked before kustomize runs, and remote, absolute or escaping
// ones are refused; exec and KRM-function plugins are off, Helm inflation only when asked for, and
// nothing outside the tree is readable (see sandbox and docs/architecture.md).
// Output is canonical (stable object order, canonical YAML) with a sha256 digest that is the same
// across runs and machines. Diff compares two renderings object by object.
package render
