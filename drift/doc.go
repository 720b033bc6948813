// Package drift compares live cluster objects with the rendered ones (server-side dry-run) and
// reports what differs. It never mutates the cluster; correcting drift is deploy's job.
//
// Detect sends each rendered object to the API server as a server-side dry-run apply and reads
// the live object; Compare holds the two side by side. Because the dry-run result is the live
// object with the rendered fields applied, server defaults, admission and other managers'
// fields are the same on both sides, and every difference is a field an apply would change.
// Rules (Ignore) keep chosen fields out of drift, by JSON pointer or by the field manager that
// owns them. A Report lists each object as in sync, drifted (with the changed paths and a
// unified diff, Secret values masked), missing, extra (in the inventory, no longer rendered) or
// failed, and prints as text or JSON.
package drift
