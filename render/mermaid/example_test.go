package mermaid_test

import (
	"fmt"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/mermaid"
)

// A connection refused by the server, as the timeline emits it, drawn as
// one diagram.
func ExampleDiagram() {
	c := layouttest.Refused()
	fmt.Print(mermaid.Diagram(c.Conn, c.Events, mermaid.Options{}))
	// Output:
	// sequenceDiagram
	//     title Connection 2 · TCP
	//     participant C as client 192.0.2.10#58;51236
	//     participant S as server 198.51.100.20#58;8080
	//     C->>S: SYN seq=0
	//     S-xC: RST seq=1 ack=1 (refused)
	//     Note over C,S: summary#58; TCP<br/>lasted 38 µs<br/>→ 0 B in 1 packet · ← 0 B in 1 packet · close refused
}
