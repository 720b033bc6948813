package deploy

import (
	"context"
)

// HealthReport is the kstatus of every object an environment's inventory lists.
type HealthReport struct {
	// Revision the inventory records as last applied completely ("" when none).
	Revision string
	// Objects in inventory order.
	Objects []ObjectHealth
}

// ObjectHealth is one inventory object's kstatus.
type ObjectHealth struct {
	Entry Entry
	// Status is kstatus's status: Current, InProgress, Failed, Terminating, NotFound, Unknown.
	Status string
	// Message is kstatus's explanation.
	Message string
}

// Health computes the kstatus of every object in the environment's inventory (opts names it).
func Health(ctx context.Context, cluster *Cluster, opts ApplyOptions) (HealthReport, error) {
	return HealthReport{}, nil
}
