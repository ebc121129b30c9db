package timeline_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// TestMigration follows quic-go's connection migration in h3-migration:
// with the key log the new path's connection ID is known from the
// server's NEW_CONNECTION_ID frames, so the second flow joins the first
// connection with one path-change event and both requests are on it; the
// connection ends as closed by its CONNECTION_CLOSE. Without keys the new
// path is a flow of its own.
func TestMigration(t *testing.T) {
	path := pcaptest.Project("h3-migration.pcapng")
	for _, withKeys := range []bool{true, false} {
		t.Run(fmt.Sprint("keys=", withKeys), func(t *testing.T) {
			opts := pcaptest.Options{}
			var keys *keylog.Store
			if withKeys {
				keys = &keylog.Store{}
				opts.Keys = keys
			}
			opts.Timeline.Datagrams = stack.Datagrams(stack.Options{Keys: keys})
			var changes []string
			sums := map[int]decode.Info{}
			clients := map[int]string{}
			pcaptest.Run(t, path, opts, func(ev *timeline.Event) {
				switch {
				case ev.Type == timeline.TypePathChange:
					var kv []string
					for _, f := range ev.Info {
						kv = append(kv, f.Key+":"+string(f.AppendValue(nil)))
					}
					changes = append(changes, fmt.Sprintf("conn %d frame %d %s {%s}", ev.Conn.ID, ev.Frame, ev.Dir, strings.Join(kv, " ")))
				case ev.Type == decode.TypeSummary:
					sums[ev.Conn.ID] = ev.Info
					clients[ev.Conn.ID] = ev.Conn.Client.String()
				}
			})
			if !withKeys {
				if len(changes) != 0 || len(sums) != 2 || clients[2] != "198.18.1.2:40001" {
					t.Errorf("without keys: changes %q, %d connections (%v); want none and two, the second from port 40001", changes, len(sums), clients)
				}
				return
			}
			want := `conn 1 frame 14 c2s {side:client from:198.18.1.2:40000 to:198.18.1.2:40001 path:1 dcid:5255e489 new_cid:true}`
			if len(changes) != 1 || changes[0] != want {
				t.Errorf("path changes:\n%s\nwant\n%s", strings.Join(changes, "\n"), want)
			}
			if len(sums) != 1 {
				t.Fatalf("%d connections; want 1", len(sums))
			}
			got := func(k string) string {
				f, _ := sums[1].Get(k)
				return string(f.AppendValue(nil))
			}
			if got("requests") != "2" || got("ended") != "closed" || got("packets_c2s") != "12" || got("packets_s2c") != "16" {
				t.Errorf("summary %v; want 2 requests, ended closed, all 28 packets (12 from the client)", sums[1])
			}
		})
	}
}
