//go:build linux

package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// delayQueue is a user-space stand-in for netem's fixed delay: it binds
// an NFQUEUE queue in the router's namespace over NETLINK_NETFILTER,
// receives each queued packet's id (metadata only, no payload), and
// accepts it once d has passed since it arrived. The delay is constant, so
// arrival order is release order and one FIFO suffices.
//
// Message layouts are those of linux/netfilter/nfnetlink_queue.h.
type delayQueue struct {
	fd   int
	num  uint16
	d    time.Duration
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error // first error of the goroutines
}

const (
	nfnlSubsysQueue = 3 // NFNL_SUBSYS_QUEUE

	nfqnlMsgPacket  = 0 // NFQNL_MSG_PACKET
	nfqnlMsgVerdict = 1 // NFQNL_MSG_VERDICT
	nfqnlMsgConfig  = 2 // NFQNL_MSG_CONFIG

	nfqaPacketHdr  = 1 // NFQA_PACKET_HDR
	nfqaVerdictHdr = 2 // NFQA_VERDICT_HDR

	nfqaCfgCmd      = 1 // NFQA_CFG_CMD
	nfqaCfgParams   = 2 // NFQA_CFG_PARAMS
	nfqaCfgQueueMax = 3 // NFQA_CFG_QUEUE_MAXLEN

	nfqnlCfgCmdBind   = 1 // NFQNL_CFG_CMD_BIND
	nfqnlCfgCmdUnbind = 2 // NFQNL_CFG_CMD_UNBIND
	nfqnlCopyMeta     = 1 // NFQNL_COPY_META

	nfAccept = 1 // NF_ACCEPT

	// queueMaxLen is how many packets the kernel holds for us; at 10 ms
	// and a veth's speed a few thousand are in flight at most.
	queueMaxLen = 16384

	// nlaTypeMask clears NLA_F_NESTED and NLA_F_NET_BYTEORDER.
	nlaTypeMask = 0x3fff
)

func newDelayQueue(ns *NS, num uint16, d time.Duration) (*delayQueue, error) {
	q := &delayQueue{fd: -1, num: num, d: d, stop: make(chan struct{})}
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return err
		}
		q.fd = fd
		return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err != nil {
		q.closeFD()
		return nil, fmt.Errorf("nfqueue: socket: %w", err)
	}
	// A deep socket buffer, so a burst of queued packets is not dropped
	// (ENOBUFS) before we read it; a receive timeout, so the reader
	// notices close.
	_ = unix.SetsockoptInt(q.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
	if err := unix.SetsockoptTimeval(q.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000}); err != nil {
		q.closeFD()
		return nil, fmt.Errorf("nfqueue: SO_RCVTIMEO: %w", err)
	}

	// struct nfqnl_msg_config_cmd { u8 command; u8 pad; be16 pf; }
	bind := attr(nfqaCfgCmd, []byte{nfqnlCfgCmdBind, 0, 0, 0})
	// struct nfqnl_msg_config_params { be32 copy_range; u8 copy_mode; }
	params := attr(nfqaCfgParams, []byte{0, 0, 0, 0, nfqnlCopyMeta})
	maxLen := attr(nfqaCfgQueueMax, binary.BigEndian.AppendUint32(nil, queueMaxLen))
	for _, a := range [][]byte{bind, params, maxLen} {
		if err := q.request(nfqnlMsgConfig, unix.NLM_F_ACK, a); err != nil {
			q.closeFD()
			return nil, fmt.Errorf("nfqueue %d: config: %w", num, err)
		}
		if err := q.readAck(); err != nil {
			q.closeFD()
			return nil, fmt.Errorf("nfqueue %d: config: %w", num, err)
		}
	}

	type held struct {
		id  uint32
		due time.Time
	}
	fifo := make(chan held, queueMaxLen)
	q.wg.Add(2)
	go func() { // reader
		defer q.wg.Done()
		defer close(fifo)
		buf := make([]byte, 1<<16)
		for {
			select {
			case <-q.stop:
				return
			default:
			}
			n, _, err := unix.Recvfrom(q.fd, buf, 0)
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					continue
				}
				q.fail(fmt.Errorf("nfqueue %d: recv: %w", num, err))
				return
			}
			now := time.Now()
			for _, id := range packetIDs(buf[:n]) {
				fifo <- held{id, now.Add(q.d)}
			}
		}
	}()
	go func() { // releaser
		defer q.wg.Done()
		for h := range fifo {
			if wait := time.Until(h.due); wait > 0 {
				time.Sleep(wait)
			}
			// struct nfqnl_msg_verdict_hdr { be32 verdict; be32 id; }
			v := binary.BigEndian.AppendUint32(nil, nfAccept)
			v = binary.BigEndian.AppendUint32(v, h.id)
			if err := q.request(nfqnlMsgVerdict, 0, attr(nfqaVerdictHdr, v)); err != nil {
				q.fail(fmt.Errorf("nfqueue %d: verdict: %w", num, err))
			}
		}
	}()
	return q, nil
}

// request sends one nfnetlink message of the queue subsystem.
func (q *delayQueue) request(msgType uint16, flags uint16, attrs []byte) error {
	const hdrLen = unix.NLMSG_HDRLEN + 4 // nlmsghdr + struct nfgenmsg
	b := make([]byte, hdrLen, hdrLen+len(attrs))
	binary.NativeEndian.PutUint32(b[0:], uint32(hdrLen+len(attrs)))
	binary.NativeEndian.PutUint16(b[4:], nfnlSubsysQueue<<8|msgType)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST|flags)
	// struct nfgenmsg { u8 nfgen_family; u8 version; be16 res_id; }
	b[16] = unix.AF_UNSPEC
	b[17] = unix.NFNETLINK_V0
	binary.BigEndian.PutUint16(b[18:], q.num)
	b = append(b, attrs...)
	return unix.Sendto(q.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

// readAck reads the kernel's answer to a request sent with NLM_F_ACK.
func (q *delayQueue) readAck() error {
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(q.fd, buf, 0)
	if err != nil {
		return err
	}
	var ackErr error = errors.New("no acknowledgement")
	eachMessage(buf[:n], func(typ uint16, data []byte) {
		// struct nlmsgerr { int error; struct nlmsghdr msg; }
		if typ == unix.NLMSG_ERROR && len(data) >= 4 {
			ackErr = nil
			if errno := int32(binary.NativeEndian.Uint32(data)); errno != 0 {
				ackErr = unix.Errno(-errno)
			}
		}
	})
	return ackErr
}

// packetIDs returns the ids of the NFQNL_MSG_PACKET messages in b.
func packetIDs(b []byte) []uint32 {
	var ids []uint32
	eachMessage(b, func(typ uint16, data []byte) {
		if typ != nfnlSubsysQueue<<8|nfqnlMsgPacket || len(data) < 4 {
			return
		}
		attrs := data[4:] // after struct nfgenmsg
		for len(attrs) >= 4 {
			l := int(binary.NativeEndian.Uint16(attrs))
			typ := binary.NativeEndian.Uint16(attrs[2:]) & nlaTypeMask
			if l < 4 || l > len(attrs) {
				break
			}
			// struct nfqnl_msg_packet_hdr { be32 packet_id; be16 hw_protocol; u8 hook; }
			if typ == nfqaPacketHdr && l >= 8 {
				ids = append(ids, binary.BigEndian.Uint32(attrs[4:]))
			}
			attrs = attrs[min((l+3)&^3, len(attrs)):]
		}
	})
	return ids
}

// eachMessage calls f with the type and payload of each netlink message
// in b, stopping at the first malformed header.
func eachMessage(b []byte, f func(typ uint16, data []byte)) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return
		}
		f(binary.NativeEndian.Uint16(b[4:]), b[unix.NLMSG_HDRLEN:l])
		b = b[min((l+3)&^3, len(b)):]
	}
}

// attr encodes one netlink attribute, padded to 4 bytes.
func attr(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (q *delayQueue) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err == nil {
		q.err = err
	}
}

// close stops the goroutines (held packets are released first) and
// unbinds the queue. Packets queued after this are dropped by the
// kernel; the namespace is about to go anyway.
func (q *delayQueue) close() error {
	close(q.stop)
	q.wg.Wait()
	_ = q.request(nfqnlMsgConfig, 0, attr(nfqaCfgCmd, []byte{nfqnlCfgCmdUnbind, 0, 0, 0}))
	q.closeFD()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

func (q *delayQueue) closeFD() {
	if q.fd >= 0 {
		unix.Close(q.fd)
		q.fd = -1
	}
}
