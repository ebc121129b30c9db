//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "gencap: needs Linux (network namespaces, veth, AF_PACKET capture)")
	os.Exit(1)
}
