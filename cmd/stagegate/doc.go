// Command stagegate is the GitOps promotion controller's single binary: the long-running agent
// and a CLI with the same verbs (validate, render, plan, gate, …).
//
// main only parses flags, wires packages together and calls one verb; behaviour lives in the
// packages named after what they do (config, gitsource, render, gates, controller, deploy, drift).
package main
