package timeline

import (
	"hash/maphash"
	"slices"
)

// The connection table maps flow keys to connections. A SYN flood fills
// it, so an entry is 16 bytes: a 64-bit hash of the key and the
// connection, which knows its keys (owns). A flow whose hash another
// flow's entry holds goes to spill, keyed in full; lookups that miss the
// first map look there, so the answer never depends on the hash.

// connTable is the Builder's table.
type connTable struct {
	seed   maphash.Seed
	byHash map[uint64]*conn
	spill  map[flowKey]*conn
	// hash is maphash of the key; tests make it collide.
	hash func(maphash.Seed, flowKey) uint64
}

func newConnTable() connTable {
	return connTable{seed: maphash.MakeSeed(), byHash: make(map[uint64]*conn), hash: maphash.Comparable[flowKey]}
}

// len counts the keys: connections and migrated connections' extra paths.
func (b *Builder) tableLen() int { return len(b.table.byHash) + len(b.table.spill) }

// lookup returns the connection that owns k, or nil.
func (b *Builder) lookup(k flowKey) *conn {
	t := &b.table
	if c := t.byHash[t.hash(t.seed, k)]; c != nil && b.owns(c, k) {
		return c
	}
	return t.spill[k]
}

// insert adds k, which no connection owns yet, as c's.
func (b *Builder) insert(k flowKey, c *conn) {
	t := &b.table
	h := t.hash(t.seed, k)
	if t.byHash[h] == nil {
		t.byHash[h] = c
		return
	}
	if t.spill == nil {
		t.spill = make(map[flowKey]*conn)
	}
	t.spill[k] = c
}

// remove drops k, one of c's keys. A key is in spill or else under its
// hash, so spill is asked first: c may own two keys of one hash.
func (b *Builder) remove(k flowKey, c *conn) {
	t := &b.table
	if t.spill[k] == c {
		delete(t.spill, k)
		return
	}
	if h := t.hash(t.seed, k); t.byHash[h] == c {
		delete(t.byHash, h)
	}
}

// owns reports whether k is c's key or one of its extra paths'.
func (b *Builder) owns(c *conn, k flowKey) bool {
	if c.key() == k {
		return true
	}
	if cp := b.paths[c]; cp != nil {
		for i := range cp.paths {
			if cp.paths[i].key == k {
				return true
			}
		}
	}
	return false
}

// tableConns returns every connection in the table once, in ID order.
func (b *Builder) tableConns() []*conn {
	all := make([]*conn, 0, b.tableLen())
	for _, c := range b.table.byHash {
		all = append(all, c)
	}
	for _, c := range b.table.spill {
		all = append(all, c)
	}
	slices.SortFunc(all, func(x, y *conn) int { return x.info.ID - y.info.ID })
	return slices.Compact(all)
}
