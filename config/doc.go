// Package config loads stagegate.yaml: one or more Pipeline documents. Load decodes strictly
// (unknown fields are errors), applies defaults in one place and validates once, reporting every
// problem at once with its file, line and YAML path (spec.environments[2].branch: required).
//
// It holds no credentials: the config names environment variables and files to read them from,
// and gitsource reads them when it connects.
package config
