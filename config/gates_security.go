package config

import (
	"fmt"
	"strings"
)

// SecurityGate checks workloads, RBAC and secrets for dangerous settings. docs/security-checks.md
// lists every check, its default severity and how to waive it.
type SecurityGate struct {
	GateCommon `json:",inline"`

	// RequireDigests fails every container image that is not pinned by digest
	// (registry/app@sha256:…), so what was gated is byte for byte what runs. Default false:
	// tags are accepted, except latest and no tag at all, which always fail.
	RequireDigests bool `json:"requireDigests,omitempty"`

	// AllowedServiceTypes lists the Service types this environment accepts besides ClusterIP,
	// which is always allowed. Default [LoadBalancer, ExternalName]: NodePort is refused, because
	// it opens the port on every node's address, past the load balancer and ingress that are
	// meant to guard it. Set [] to allow ClusterIP only, or add NodePort where it is intended.
	AllowedServiceTypes []string `json:"allowedServiceTypes,omitempty"`

	// TrustedRegistries, when set, fails images from anywhere else. Each entry is a registry
	// host, optionally with a path ("ghcr.io/acme", "registry.example.com:5000"); an image matches
	// when its normalised name equals the entry or continues it after a "/". Images without a
	// registry host are docker.io images ("nginx" is docker.io/library/nginx).
	// Default empty: any registry.
	TrustedRegistries []string `json:"trustedRegistries,omitempty"`
}

// DefaultAllowedServiceTypes is AllowedServiceTypes when the option is not set.
var DefaultAllowedServiceTypes = []string{"LoadBalancer", "ExternalName"}

// ServiceTypes returns the Service types the environment accepts besides ClusterIP, with the
// default applied.
func (g SecurityGate) ServiceTypes() []string {
	if g.AllowedServiceTypes == nil {
		return DefaultAllowedServiceTypes
	}
	return g.AllowedServiceTypes
}

// Validate reports every invalid option; path is the gate's config path
// ("spec.environments[2].gates.security").
func (g SecurityGate) Validate(path string) []error {
	var errs []error
	for i, t := range g.AllowedServiceTypes {
		switch t {
		case "ClusterIP", "NodePort", "LoadBalancer", "ExternalName":
		default:
			errs = append(errs, fmt.Errorf("%s.allowedServiceTypes[%d]: %q is not a Service type; want ClusterIP, NodePort, LoadBalancer or ExternalName", path, i, t))
		}
	}
	for i, r := range g.TrustedRegistries {
		if r == "" || strings.Contains(r, "://") || strings.ContainsAny(r, "@ ") {
			errs = append(errs, fmt.Errorf("%s.trustedRegistries[%d]: %q is not a registry; want a host with an optional path, like ghcr.io/acme", path, i, r))
		}
	}
	return errs
}
