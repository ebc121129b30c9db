package timeline

// connList is an intrusive doubly linked list of connections, oldest first.
// A connection is on at most one list per link field.
type connList struct {
	head, tail *conn
}

// link is a connection's place on a list; it is on the list when it has
// a predecessor or is the head.
type link struct {
	prev, next *conn
}

// has reports whether c is on l.
func (l *connList) has(c *conn, lk func(*conn) *link) bool { return lk(c).prev != nil || l.head == c }

func (l *connList) pushBack(c *conn, lk func(*conn) *link) {
	if l.has(c, lk) {
		return
	}
	k := lk(c)
	k.prev, k.next = l.tail, nil
	if l.tail != nil {
		lk(l.tail).next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connList) remove(c *conn, lk func(*conn) *link) {
	if !l.has(c, lk) {
		return
	}
	k := lk(c)
	if k.prev != nil {
		lk(k.prev).next = k.next
	} else {
		l.head = k.next
	}
	if k.next != nil {
		lk(k.next).prev = k.prev
	} else {
		l.tail = k.prev
	}
	*k = link{}
}

// moveToBack marks c as the most recently active, adding it if it is not
// on the list.
func (l *connList) moveToBack(c *conn, lk func(*conn) *link) {
	if l.tail == c {
		return
	}
	l.remove(c, lk)
	l.pushBack(c, lk)
}

func idleLink(c *conn) *link    { return &c.idleLink }
func closingLink(c *conn) *link { return &c.closingLink }
