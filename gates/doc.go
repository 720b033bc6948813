// Package gates judges rendered state. Everything a gate needs is gathered beforehand into an
// Input (objects, the environment's config, the target Kubernetes version, forge and cluster
// facts, and Now); a gate is a pure function of that Input and returns pass, fail or pending
// with findings tied to objects. Gates do no I/O and never read the clock.
//
// Reports (text, JSON, SARIF, JUnit, Markdown) are rendered from the results here too.
package gates
