//go:build !linux

package sockets

import "errors"

var errNoProc = errors.New("sockets: needs Linux /proc")

// CutOwn is a no-op where /proc is not there: killed embedded members then
// take up to a second longer to release.
func CutOwn(ports ...int) (int, error) { return 0, nil }

// Listening needs /proc.
func Listening(ports ...int) (bool, error) { return false, errNoProc }

// Listeners needs /proc.
func Listeners(ports ...int) ([]int, error) { return nil, errNoProc }

// LoopbackListeners needs /proc.
func LoopbackListeners(pids ...int) (map[string]int, error) { return nil, errNoProc }
