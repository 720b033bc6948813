package controller

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
)

// Shard is one of Count disjoint parts of the pipelines, for replicas that split the work:
// shard i runs the pipelines whose name hashes (FNV-1a, 32 bits) to i modulo Count. The hash
// depends on the name alone, so every replica of every shard agrees without talking, and a
// pipeline belongs to exactly one shard. The zero Shard (Count 0) is everything.
//
// Changing Count moves most pipelines to another shard; see docs/operations.md.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/n" (0 ≤ i < n), as --shard takes it.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, such as 0/3", s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) String() string {
	if s.Count == 0 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Owns says whether the pipeline named name belongs to s.
func (s Shard) Owns(name string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// Select returns the pipelines of ps that belong to s, in their order.
func (s Shard) Select(ps []config.Pipeline) []config.Pipeline {
	var out []config.Pipeline
	for _, p := range ps {
		if s.Owns(p.Metadata.Name) {
			out = append(out, p)
		}
	}
	return out
}

// LeaseName is the Lease a shard's replicas elect on: base (default DefaultLeaseName) without
// sharding, "<base>-shard-i-of-n" with it, so each shard has a leader of its own.
func (s Shard) LeaseName(base string) string {
	if base == "" {
		base = DefaultLeaseName
	}
	if s.Count == 0 {
		return base
	}
	return fmt.Sprintf("%s-shard-%d-of-%d", base, s.Index, s.Count)
}
