package dialect

import (
	"fmt"
	"sort"
	"time"
)

// Options are one dialect's own settings from the config file
// (dialects.<name>.options), names and values as written. The config
// checks their shape (bounded, printable); the dialect reads the ones it
// knows with these helpers and refuses the rest with Unknown, so a
// misspelt option stops the start instead of silently not applying.
type Options map[string]string

// Unknown is an error naming every option not among known, or nil.
func (o Options) Unknown(known ...string) error {
	var bad []string
	for k := range o {
		found := false
		for _, n := range known {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	if len(known) == 0 {
		return fmt.Errorf("options %q: this dialect has no options", bad)
	}
	return fmt.Errorf("options %q: unknown (known: %q)", bad, known)
}

// Duration reads option name as a Go duration ("45s", "2m") within
// [min, max]; absent, def.
func (o Options) Duration(name string, def, min, max time.Duration) (time.Duration, error) {
	s, ok := o[name]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("option %s: %q is not a duration (e.g. 45s, 2m): %w", name, s, err)
	}
	if d < min || d > max {
		return 0, fmt.Errorf("option %s: %s is not between %s and %s", name, d, min, max)
	}
	return d, nil
}
