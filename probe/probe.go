package probe

import (
	"os"
	"time"
)

// Options are what every probe needs from the agent.
type Options struct {
	// Resolve turns a path from the config (bearerTokenFile, caFile, secretFile) into a file
	// path; relative paths are relative to the config file (config.Pipeline.Resolve). Default:
	// the path as is.
	Resolve func(string) string
	// Getenv reads bearerTokenEnv and secretEnv. Default os.Getenv.
	Getenv func(string) string
	// Now is the clock retry times count from. Default time.Now.
	Now func() time.Time
}

func (o Options) resolve(path string) string {
	if o.Resolve == nil {
		return path
	}
	return o.Resolve(path)
}

func (o Options) getenv(name string) string {
	if o.Getenv == nil {
		return os.Getenv(name)
	}
	return o.Getenv(name)
}
