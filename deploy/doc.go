// Package deploy server-side-applies an environment's rendered objects to its cluster: staged
// (CRDs and namespaces first), waited on, with pruning of objects it applied before and no
// longer renders.
package deploy
