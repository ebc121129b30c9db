// Package h3 decodes HTTP/3 (RFC 9114) and QPACK (RFC 9204) from the
// reassembled streams of one QUIC connection, passively: it implements
// decode.MultiStreamDecoder, fed by decode/quic for ALPN "h3".
//
// Stream kinds come from the stream ID (RFC 9000 §2.1): client-initiated
// bidirectional streams are request streams; unidirectional streams start
// with a type (control, push, QPACK encoder, QPACK decoder, reserved,
// unknown), shown as a `stream` event. Control, request and push streams
// carry HTTP/3 frames: one event per frame, layer http3, type = the frame
// name (DATA, HEADERS, CANCEL_PUSH, SETTINGS, PUSH_PROMISE, GOAWAY,
// MAX_PUSH_ID, PRIORITY_UPDATE, RESERVED, UNKNOWN), Event.Stream = the
// QUIC stream ID, Event.Len = the payload length. DATA payloads are
// counted, never buffered; other frames are buffered up to
// Options.MaxFrameSize.
//
// Other event types (layer http3): `stream` (a unidirectional stream's
// type: stream_type control, push (+ push_id), qpack_encoder,
// qpack_decoder, reserved, unknown; or server_bidi), `stream-error` (a
// stream ended inside a frame, or a critical stream closed), and one event
// per QPACK instruction: SET_DYNAMIC_TABLE_CAPACITY,
// INSERT_WITH_NAME_REFERENCE, INSERT_WITH_LITERAL_NAME, DUPLICATE (info:
// capacity / name_index, static / index, name, value, inserts, table_size)
// on encoder streams, SECTION_ACKNOWLEDGMENT, STREAM_CANCELLATION (stream),
// INSERT_COUNT_INCREMENT (increment) on decoder streams. Frame info:
// SETTINGS values under their names (qpack_max_table_capacity,
// max_field_section_size, qpack_blocked_streams, enable_connect_protocol,
// h3_datagram, grease_settings, unknown_settings), GOAWAY id,
// CANCEL_PUSH/MAX_PUSH_ID/PUSH_PROMISE push_id, PRIORITY_UPDATE
// stream_id or push_id and priority, frame_type for RESERVED/UNKNOWN,
// error for a protocol violation (with the RFC's error code name).
//
// Flags: a client HEADERS opening a request is FlagRequest|FlagAppData,
// other client events FlagAppData; server HEADERS, DATA and PUSH_PROMISE
// are FlagReply|FlagAppData, other server events FlagReply.
//
// QPACK: each direction has its own dynamic table, filled by that
// direction's encoder stream (each instruction an event) and capped by
// Options.MaxTableCapacity; the receiver's SETTINGS_QPACK_MAX_TABLE_CAPACITY
// decodes the Required Insert Count. A field section that refers to inserts
// not yet seen is held (Options.MaxBlockedStreams, the receiver's
// SETTINGS_QPACK_BLOCKED_STREAMS, Options.MaxBlockedBytes) and its HEADERS
// event goes out, with was_blocked, when the inserts arrive; its stream's
// later bytes wait with it. Decoder stream instructions are shown as
// events. HEADERS events carry method, scheme, authority, path, status,
// content_type, content_length and headers, as decode/h2 does.
//
// Each request stream ends in an `exchange` event (method, authority,
// path, status, start, start_frame, first_byte_ms, duration_ms, req_bytes,
// resp_bytes, reset, incomplete) when the response stream ends, either
// side resets it, or the connection ends; Summary reports `requests`.
//
// github.com/quic-go/qpack was considered: it decodes field sections
// against the static table only (no dynamic table, no encoder stream),
// so the QPACK decoder here is written from RFC 9204; Huffman strings use
// golang.org/x/net/http2/hpack and varints quic-go's quicvarint.
package h3
