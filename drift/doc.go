// Package drift compares live cluster objects with the rendered ones (server-side dry-run) and
// reports what differs. It never mutates the cluster; correcting drift is deploy's job.
package drift
