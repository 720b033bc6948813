package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/collector"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/event"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stagegate-dev/stagegate/render"
)

// NotReadyError lists the objects that did not become ready within ApplyOptions.ReadyTimeout.
// It is a waiting error: the apply went through, and the workloads may still roll out.
type NotReadyError struct {
	Objects []ObjectResult
}

func (e *NotReadyError) Error() string {
	lines := make([]string, 0, len(e.Objects))
	for _, o := range e.Objects {
		lines = append(lines, o.ID.String()+": "+o.NotReady)
	}
	return fmt.Sprintf("%d objects not ready: %s", len(e.Objects), strings.Join(lines, "; "))
}

// waitRollout polls the kstatus of objs until all are Current, all that are not are Failed, or
// timeout passes. It returns why each object that is not Current is not.
func waitRollout(ctx context.Context, cluster *Cluster, objs []*unstructured.Unstructured, timeout time.Duration) (map[render.ID]string, error) {
	set := object.UnstructuredSetToObjMetadataSet(objs)
	if len(set) == 0 {
		return nil, nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	poller := polling.NewStatusPoller(cluster.client, cluster.mapper, polling.Options{})
	events := poller.Poll(ctx, set, polling.PollOptions{PollInterval: time.Second})
	statuses := collector.NewResourceStatusCollector(set)
	done := statuses.ListenWithObserver(events, collector.ObserverFunc(func(c *collector.ResourceStatusCollector, _ event.Event) {
		for _, rs := range c.ResourceStatuses {
			if rs == nil || (rs.Status != status.CurrentStatus && rs.Status != status.FailedStatus) {
				return
			}
		}
		cancel() // settled: every object is Current or Failed
	}))
	var pollErr error
	for r := range done { // drain, so the collector never blocks on a second error
		// A poll cut short by our own timeout or cancel reports an error too; only others count.
		// The client's rate limiter refuses to wait past the deadline before the context is
		// done, with an error of its own: that is the timeout too.
		if r.Err != nil && pollErr == nil && ctx.Err() == nil && !strings.Contains(r.Err.Error(), "would exceed context deadline") {
			pollErr = r.Err
			cancel()
		}
	}
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("wait for objects to be ready: %w", err)
	}
	if pollErr != nil {
		return nil, fmt.Errorf("poll object status: %w", pollErr)
	}
	notReady := map[render.ID]string{}
	for id, rs := range statuses.ResourceStatuses {
		if rs != nil && rs.Status == status.CurrentStatus {
			continue
		}
		why := "status unknown"
		if rs != nil {
			why = rs.Status.String()
			if rs.Message != "" {
				why += ": " + rs.Message
			}
			if rs.Error != nil {
				why += ": " + rs.Error.Error()
			}
		}
		notReady[render.ID{Group: id.GroupKind.Group, Kind: id.GroupKind.Kind, Namespace: id.Namespace, Name: id.Name}] = why
	}
	return notReady, nil
}
