#include "ls_frame.h"

#include <string.h>

void ls_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
void ls_put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
void ls_put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
uint16_t ls_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
uint32_t ls_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
uint64_t ls_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

uint32_t ls_crc32(const uint8_t *data, size_t len)
{
    /* Bitwise CRC-32/IEEE (reflected 0xEDB88320): small code beats a 1 KiB table on a small MCU. */
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int b = 0; b < 8; b++) crc = (crc >> 1) ^ (0xEDB88320u & (uint32_t)-(int32_t)(crc & 1u));
    }
    return ~crc;
}

size_t ls_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst)
{
    size_t write = 1, code_at = 0;
    uint8_t code = 1;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == 0) {
            dst[code_at] = code;
            code = 1;
            code_at = write++;
            continue;
        }
        dst[write++] = src[i];
        if (++code == 0xFF) {
            dst[code_at] = code;
            code = 1;
            code_at = write++;
        }
    }
    dst[code_at] = code;
    return write;
}

bool ls_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, size_t *written)
{
    size_t read = 0, out = 0;
    while (read < len) {
        uint8_t code = src[read++];
        if (code == 0) return false;
        for (uint8_t i = 1; i < code; i++) {
            if (read >= len || src[read] == 0 || out >= cap) return false;
            dst[out++] = src[read++];
        }
        if (code != 0xFF && read < len) {
            if (out >= cap) return false;
            dst[out++] = 0;
        }
    }
    *written = out;
    return true;
}

size_t ls_frame_write(uint8_t type, uint8_t flags, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *wire)
{
    uint8_t raw[LS_MAX_FRAME];
    if (len > LS_MAX_PAYLOAD) return 0;
    raw[0] = LS_VERSION;
    raw[1] = type;
    raw[2] = flags;
    ls_put_u16(raw + 3, seq);
    ls_put_u16(raw + 5, (uint16_t)len);
    if (len) memcpy(raw + LS_HEADER_LEN, payload, len);
    size_t body = LS_HEADER_LEN + len;
    ls_put_u32(raw + body, ls_crc32(raw, body));
    size_t n = ls_cobs_encode(raw, body + LS_CRC_LEN, wire);
    wire[n] = 0;
    return n + 1;
}

enum ls_fault ls_frame_parse(const uint8_t *encoded, size_t len, uint8_t *raw, ls_frame *out)
{
    size_t n;
    if (len > LS_MAX_ENCODED) return LS_FAULT_TOO_LONG;
    if (!ls_cobs_decode(encoded, len, raw, LS_MAX_FRAME, &n)) return LS_FAULT_STUFFING;
    if (n < LS_HEADER_LEN + LS_CRC_LEN) return LS_FAULT_TOO_SHORT;
    if (ls_crc32(raw, n - LS_CRC_LEN) != ls_get_u32(raw + n - LS_CRC_LEN)) return LS_FAULT_CRC;
    if (raw[0] != LS_VERSION) return LS_FAULT_VERSION;
    uint16_t plen = ls_get_u16(raw + 5);
    if (plen != n - LS_HEADER_LEN - LS_CRC_LEN) return LS_FAULT_LENGTH;
    out->type = raw[1];
    out->flags = raw[2];
    out->seq = ls_get_u16(raw + 3);
    out->payload = raw + LS_HEADER_LEN;
    out->len = plen;
    return LS_FAULT_NONE;
}

void ls_decoder_init(ls_decoder *d) { memset(d, 0, sizeof *d); }

bool ls_decoder_push(ls_decoder *d, uint8_t byte, ls_frame *out)
{
    if (byte != 0) {
        if (d->n < sizeof d->encoded) {
            d->encoded[d->n++] = byte;
        } else {
            d->overlong = true; /* noise without delimiter: drop until the next 0x00 */
        }
        return false;
    }
    size_t n = d->n;
    bool overlong = d->overlong;
    d->n = 0;
    d->overlong = false;
    if (n == 0) return false; /* idle delimiter */
    enum ls_fault fault = overlong ? LS_FAULT_TOO_LONG : ls_frame_parse(d->encoded, n, d->raw, out);
    if (fault == LS_FAULT_NONE) return true;
    d->faults++;
    d->last_fault = fault;
    return false;
}
