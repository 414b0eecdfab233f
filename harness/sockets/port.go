package sockets

import (
	"net/url"
	"strconv"
)

// PortOf is the port of a URL like http://127.0.0.1:2379, or 0.
func PortOf(u string) int {
	pu, err := url.Parse(u)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(pu.Port())
	return p
}
