// Package deploy server-side-applies an environment's rendered objects to its cluster: staged
// (CRDs and namespaces first), waited on, with pruning of objects it applied before and no
// longer renders.
//
// Each object costs at most one request: a server-side apply (field manager "stagegate",
// force), whose HTTP status (201: created) and resourceVersion, against the one a single list
// per kind and namespace found before the stage, say whether it was created, configured or
// unchanged. An object still at the resourceVersion the last apply left, rendered the same, is
// not sent at all. github.com/fluxcd/pkg/ssa does the rest: waiting for CRDs and namespaces,
// and pruning.
//
// What an environment applied is recorded in the cluster itself: labels stagegate.dev/pipeline
// and stagegate.dev/env on every object, and an inventory ConfigMap
// stagegate-inventory-<pipeline>-<env>, which also records what each object was last sent;
// pruning deletes only what that inventory lists. An apply cut short by the API server going
// away returns an *UnreachableError: retry, and it converges.
//
// Comparing live objects with rendered ones is package drift's job; deploy changes the cluster,
// drift never does. Tests run against a real kube-apiserver started by package deploytest.
package deploy
