/* Linesight line-MCU protocol, version 1: framing (COBS + CRC-32), see docs/firmware-protocol.md.
 * Portable C99, no HAL, no heap. */
#ifndef LS_FRAME_H
#define LS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LS_VERSION 1u
#define LS_HEADER_LEN 7u
#define LS_CRC_LEN 4u
#define LS_MAX_PAYLOAD 256u
#define LS_MAX_FRAME (LS_HEADER_LEN + LS_MAX_PAYLOAD + LS_CRC_LEN)
#define LS_MAX_ENCODED (LS_MAX_FRAME + LS_MAX_FRAME / 254u + 1u)
#define LS_MAX_WIRE (LS_MAX_ENCODED + 1u)
#define LS_FLAG_ACK_REQUESTED 0x01u

enum ls_type {
    LS_HELLO = 0x01, LS_CAPABILITIES = 0x02, LS_HEARTBEAT = 0x03,
    LS_TRIGGER = 0x10, LS_REJECT = 0x11, LS_REJECT_FIRED = 0x12, LS_FAILSAFE = 0x13,
    LS_SENSOR_FRAME = 0x20, LS_IO_STATE = 0x21, LS_ERROR = 0x30,
    LS_TIME_SYNC_REQUEST = 0x40, LS_TIME_SYNC_REPLY = 0x41,
    LS_ACK = 0x7E, LS_NACK = 0x7F
};

enum ls_nack_reason {
    LS_NACK_UNKNOWN_TYPE = 1, LS_NACK_MALFORMED = 2, LS_NACK_UNKNOWN_PART = 3,
    LS_NACK_TOO_LATE = 4, LS_NACK_QUEUE_FULL = 5, LS_NACK_NOT_READY = 6
};

enum ls_fault {
    LS_FAULT_NONE = 0, LS_FAULT_STUFFING, LS_FAULT_TOO_SHORT, LS_FAULT_TOO_LONG,
    LS_FAULT_CRC, LS_FAULT_VERSION, LS_FAULT_LENGTH
};

/* A checked frame; payload points into the decoder and is valid until the next push. */
typedef struct {
    uint8_t type;
    uint8_t flags;
    uint16_t seq;
    const uint8_t *payload;
    uint16_t len;
} ls_frame;

/* Byte-at-a-time receiver: accumulates up to a 0x00, then checks stuffing, CRC, version and length. */
typedef struct {
    uint8_t encoded[LS_MAX_ENCODED];
    uint8_t raw[LS_MAX_FRAME];
    size_t n;
    bool overlong;
    uint32_t faults;
    enum ls_fault last_fault;
} ls_decoder;

uint32_t ls_crc32(const uint8_t *data, size_t len);
size_t ls_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst);
bool ls_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *written);

/* Builds the wire form (COBS + trailing 0x00) into wire[LS_MAX_WIRE]; returns its length, 0 if payload too long. */
size_t ls_frame_write(uint8_t type, uint8_t flags, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *wire);

/* Checks one encoded packet (no delimiter) into raw[LS_MAX_FRAME]. */
enum ls_fault ls_frame_parse(const uint8_t *encoded, size_t len, uint8_t *raw, ls_frame *out);

void ls_decoder_init(ls_decoder *d);
/* Returns true when byte completes a valid frame (then *out is set). Invalid packets are counted and skipped. */
bool ls_decoder_push(ls_decoder *d, uint8_t byte, ls_frame *out);

/* Little-endian helpers. */
void ls_put_u16(uint8_t *p, uint16_t v);
void ls_put_u32(uint8_t *p, uint32_t v);
void ls_put_u64(uint8_t *p, uint64_t v);
uint16_t ls_get_u16(const uint8_t *p);
uint32_t ls_get_u32(const uint8_t *p);
uint64_t ls_get_u64(const uint8_t *p);

#endif
