package config

import "time"

// WindowOr is the metrics gate's window: window, else the environment's soak duration, else 5m.
func (g MetricsGate) WindowOr(soak time.Duration) time.Duration {
	switch {
	case g.Window.Duration > 0:
		return g.Window.Duration
	case soak > 0:
		return soak
	}
	return 5 * time.Minute
}

// IntervalOr is how often the metrics gate queries again: interval, else 1m.
func (g MetricsGate) IntervalOr() time.Duration {
	if g.Interval.Duration > 0 {
		return g.Interval.Duration
	}
	return time.Minute
}
