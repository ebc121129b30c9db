package timeline

// connList is an intrusive doubly linked list of connections, oldest first.
// A connection is on at most one list per link field.
type connList struct {
	head, tail *conn
}

type link struct {
	prev, next *conn
	on         bool
}

func (l *connList) pushBack(c *conn, lk func(*conn) *link) {
	k := lk(c)
	if k.on {
		return
	}
	k.on, k.prev, k.next = true, l.tail, nil
	if l.tail != nil {
		lk(l.tail).next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connList) remove(c *conn, lk func(*conn) *link) {
	k := lk(c)
	if !k.on {
		return
	}
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
	if l.tail == c && lk(c).on {
		return
	}
	l.remove(c, lk)
	l.pushBack(c, lk)
}

func idleLink(c *conn) *link    { return &c.idleLink }
func closingLink(c *conn) *link { return &c.closingLink }
