//go:build !race

package ringlog

const raceEnabled = false
