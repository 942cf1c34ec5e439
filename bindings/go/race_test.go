//go:build race

package ringlog

const raceEnabled = true
