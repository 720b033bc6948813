// Package deploy server-side-applies an environment's rendered objects to its cluster: staged
// (CRDs and namespaces first), waited on, with pruning of objects it applied before and no
// longer renders.
//
// It is built on github.com/fluxcd/pkg/ssa with the field manager "stagegate". What an
// environment applied is recorded in the cluster itself: labels stagegate.dev/pipeline and
// stagegate.dev/env on every object, and an inventory ConfigMap
// stagegate-inventory-<pipeline>-<env>; pruning deletes only what that inventory lists.
// Comparing live objects with rendered ones is package drift's job; deploy changes the cluster,
// drift never does. Tests run against a real kube-apiserver started by package deploytest.
package deploy
