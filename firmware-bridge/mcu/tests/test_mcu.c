/* Host unit tests of the MCU core, built with gcc (make test). Ends with "N passed, N failed". */
#include "ls_mcu.h"

#include <stdio.h>
#include <string.h>

static int passed, failed, current_failed;
#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
            current_failed = 1;                                                         \
        }                                                                               \
    } while (0)
#define RUN(test)                                                                       \
    do {                                                                                \
        current_failed = 0;                                                             \
        test();                                                                         \
        if (current_failed) { failed++; printf("not ok - %s\n", #test); }               \
        else { passed++; printf("ok - %s\n", #test); }                                  \
    } while (0)

/* A fake board: captures written bytes, output levels and events. */
static uint8_t wire_out[65536];
static size_t wire_len, wire_read;
static bool outputs[2];
static int events[16];
static uint64_t last_event_a[16];
static ls_decoder host_decoder;

static void fake_write(void *ctx, const uint8_t *d, size_t n) { (void)ctx; memcpy(wire_out + wire_len, d, n); wire_len += n; }
static void fake_output(void *ctx, uint8_t line, bool active) { (void)ctx; outputs[line] = active; }
static void fake_event(void *ctx, ls_event e, uint32_t part, uint64_t a, uint64_t b, uint8_t c)
{
    (void)ctx; (void)part; (void)b; (void)c;
    events[e]++;
    last_event_a[e] = a;
}

static const ls_platform board = { fake_write, fake_output, fake_event, 0 };
#define HZ 1000000u
#define MS (HZ / 1000u)

static void reset_board(void)
{
    wire_len = wire_read = 0;
    memset(outputs, 0, sizeof outputs);
    memset(events, 0, sizeof events);
    ls_decoder_init(&host_decoder);
}

/* Next frame the MCU wrote, skipping nothing: returns false when none is left. */
static bool next_frame(ls_frame *f)
{
    while (wire_read < wire_len)
        if (ls_decoder_push(&host_decoder, wire_out[wire_read++], f)) return true;
    return false;
}

/* Next frame of a given type (skips heartbeats and others). */
static bool next_of(uint8_t type, ls_frame *f)
{
    while (next_frame(f))
        if (f->type == type) return true;
    return false;
}

static void feed(ls_mcu *m, uint8_t type, uint8_t flags, uint16_t seq, const uint8_t *p, size_t len, uint64_t now)
{
    uint8_t wire[LS_MAX_WIRE];
    size_t n = ls_frame_write(type, flags, seq, p, len, wire);
    ls_mcu_receive(m, wire, n, now);
}

static void hello(ls_mcu *m, uint16_t seq, uint8_t mode, uint64_t now)
{
    uint8_t p[9];
    ls_put_u16(p, 100);
    ls_put_u16(p + 2, 500);
    p[4] = mode;
    ls_put_u32(p + 5, 20000);
    feed(m, LS_HELLO, LS_FLAG_ACK_REQUESTED, seq, p, sizeof p, now);
}

static void reject(ls_mcu *m, uint16_t seq, uint32_t part, uint64_t fire_at, uint64_t now)
{
    uint8_t p[12];
    ls_put_u32(p, part);
    ls_put_u64(p + 4, fire_at);
    feed(m, LS_REJECT, LS_FLAG_ACK_REQUESTED, seq, p, sizeof p, now);
}

/* Answer to reliable frame seq: 0 = ack, else nack reason, -1 none. */
static int answer_to(uint16_t seq)
{
    ls_frame f;
    while (next_frame(&f)) {
        if ((f.type == LS_ACK || f.type == LS_NACK) && ls_get_u16(f.payload) == seq)
            return f.type == LS_ACK ? 0 : f.payload[2];
    }
    return -1;
}

static void crc32_matches_the_check_value(void)
{
    CHECK(ls_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u);
}

static void cobs_round_trips_zeros_and_long_runs(void)
{
    uint8_t raw[600], enc[700], dec[600];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 600; i++) raw[i] = (uint8_t)((i * 7 + round) % (round % 3 == 0 ? 256 : 5));
        size_t n = ls_cobs_encode(raw, 600, enc), out = 0;
        for (size_t i = 0; i < n; i++) CHECK(enc[i] != 0);
        CHECK(ls_cobs_decode(enc, n, dec, sizeof dec, &out));
        CHECK(out == 600 && memcmp(raw, dec, 600) == 0);
    }
    const uint8_t bad[] = { 0x05, 0x11 };
    size_t out;
    CHECK(!ls_cobs_decode(bad, 2, dec, sizeof dec, &out));
}

static void decoder_resynchronises_after_garbage_and_a_crc_error(void)
{
    uint8_t wire[LS_MAX_WIRE], payload[3] = { 1, 2, 3 };
    ls_decoder d;
    ls_frame f;
    int frames = 0;
    ls_decoder_init(&d);
    const uint8_t garbage[] = { 0x31, 0x99, 0x00, 0x02, 0x00 };
    for (size_t i = 0; i < sizeof garbage; i++) frames += ls_decoder_push(&d, garbage[i], &f);
    size_t n = ls_frame_write(LS_ERROR, 0, 7, payload, 3, wire);
    wire[3] ^= 0x40;
    for (size_t i = 0; i < n; i++) frames += ls_decoder_push(&d, wire[i], &f);
    n = ls_frame_write(LS_ERROR, 0, 8, payload, 3, wire);
    for (size_t i = 0; i < n; i++) {
        if (ls_decoder_push(&d, wire[i], &f)) {
            frames++;
            CHECK(f.seq == 8 && f.len == 3 && f.payload[2] == 3);
        }
    }
    CHECK(frames == 1);
    CHECK(d.faults == 3);
}

static void boots_in_failsafe_and_announces_itself(void)
{
    ls_mcu m;
    ls_frame f;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "test-mcu", 0);
    CHECK(m.failsafe && outputs[LS_OUT_EJECTOR]);
    CHECK(next_of(LS_CAPABILITIES, &f));
    CHECK(f.flags & LS_FLAG_ACK_REQUESTED);
    CHECK(ls_get_u32(f.payload + 4) == HZ);
    CHECK(f.len == 17 + 8 && memcmp(f.payload + 17, "test-mcu", 8) == 0);
}

static void hello_opens_a_session_and_clears_the_failsafe(void)
{
    ls_mcu m;
    ls_frame f;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    hello(&m, 40, LS_FAILSAFE_REJECT_ALL, 1000);
    CHECK(!m.failsafe && !outputs[LS_OUT_EJECTOR]);
    CHECK(m.session && events[LS_EV_SESSION] == 1);
    wire_read = 0;
    ls_decoder_init(&host_decoder);
    CHECK(answer_to(40) == 0);
    wire_read = 0;
    ls_decoder_init(&host_decoder);
    CHECK(next_of(LS_CAPABILITIES, &f) && next_of(LS_CAPABILITIES, &f)); /* at boot, then for the Hello */
}

static void reject_fires_on_the_mcu_clock_for_the_pulse_width(void)
{
    ls_mcu m;
    ls_frame f;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    hello(&m, 1, LS_FAILSAFE_REJECT_ALL, 0);
    uint32_t part = ls_mcu_trigger(&m, 0, 10 * MS);
    CHECK(part == 1);
    reject(&m, 2, part, 50 * MS, 20 * MS);
    CHECK(answer_to(2) == 0);
    ls_mcu_poll(&m, 50 * MS - 1);
    CHECK(!outputs[LS_OUT_EJECTOR] && events[LS_EV_FIRED] == 0);
    ls_mcu_poll(&m, 50 * MS);
    CHECK(outputs[LS_OUT_EJECTOR] && events[LS_EV_FIRED] == 1);
    CHECK(next_of(LS_REJECT_FIRED, &f));
    CHECK(ls_get_u32(f.payload) == part && ls_get_u64(f.payload + 4) == 50 * MS);
    ls_mcu_poll(&m, 69 * MS);
    CHECK(outputs[LS_OUT_EJECTOR]);
    ls_mcu_poll(&m, 70 * MS);
    CHECK(!outputs[LS_OUT_EJECTOR]);
}

static void reject_refusals_are_nacked_with_their_reason(void)
{
    ls_mcu m;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    uint32_t part = ls_mcu_trigger(&m, 0, 1);
    reject(&m, 1, part, 10 * MS, 2);
    CHECK(answer_to(1) == LS_NACK_NOT_READY);
    hello(&m, 2, LS_FAILSAFE_REJECT_ALL, 3);
    reject(&m, 3, 999, 10 * MS, 4);
    CHECK(answer_to(3) == LS_NACK_UNKNOWN_PART);
    reject(&m, 4, part, 5 * MS, 6 * MS);
    CHECK(answer_to(4) == LS_NACK_TOO_LATE);
    uint8_t junk[3] = { 1, 2, 3 };
    feed(&m, 0x66, LS_FLAG_ACK_REQUESTED, 5, junk, 3, 7 * MS);
    CHECK(answer_to(5) == LS_NACK_UNKNOWN_TYPE);
    feed(&m, LS_REJECT, LS_FLAG_ACK_REQUESTED, 6, junk, 3, 7 * MS);
    CHECK(answer_to(6) == LS_NACK_MALFORMED);
}

static void a_retransmitted_reject_is_acked_again_but_scheduled_once(void)
{
    ls_mcu m;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    hello(&m, 1, LS_FAILSAFE_REJECT_ALL, 0);
    uint32_t part = ls_mcu_trigger(&m, 0, 1);
    reject(&m, 9, part, 30 * MS, 2);
    reject(&m, 9, part, 30 * MS, 3);
    CHECK(answer_to(9) == 0);
    CHECK(answer_to(9) == 0);
    CHECK(events[LS_EV_REJECT_ACCEPTED] == 1);
}

static void host_silence_enters_the_failsafe_and_hello_releases_it(void)
{
    ls_mcu m;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    hello(&m, 1, LS_FAILSAFE_STOP_LINE, 0);
    feed(&m, LS_HEARTBEAT, 0, 2, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0", 11, 400 * MS);
    ls_mcu_poll(&m, 900 * MS);
    CHECK(!m.failsafe);
    ls_mcu_poll(&m, 901 * MS);
    CHECK(m.failsafe && outputs[LS_OUT_LINE_STOP] && !outputs[LS_OUT_EJECTOR]);
    CHECK(events[LS_EV_FAILSAFE_ON] == 2 && last_event_a[LS_EV_FAILSAFE_ON] == 1);
    ls_frame f;
    CHECK(next_of(LS_HEARTBEAT, &f));
    hello(&m, 0, LS_FAILSAFE_STOP_LINE, 950 * MS); /* host restarted: seq 0 again */
    CHECK(!m.failsafe && !outputs[LS_OUT_LINE_STOP]);
}

static void heartbeat_reports_failsafe_and_peer_silence(void)
{
    ls_mcu m;
    ls_frame f;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    hello(&m, 1, LS_FAILSAFE_REJECT_ALL, 0);
    ls_mcu_poll(&m, 600 * MS);
    wire_read = 0;
    ls_decoder_init(&host_decoder);
    CHECK(next_of(LS_HEARTBEAT, &f));
    CHECK(f.payload[8] == 3);
}

static void unacknowledged_frames_are_retransmitted_then_given_up(void)
{
    ls_mcu m;
    ls_frame f;
    int copies = 0;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    hello(&m, 1, LS_FAILSAFE_REJECT_ALL, 0);
    uint32_t part = ls_mcu_trigger(&m, 0, 0);
    for (uint64_t t = 0; t <= 1000 * MS; t += 10 * MS) {
        feed(&m, LS_HEARTBEAT, 0, 100, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0", 11, t);
        ls_mcu_poll(&m, t);
    }
    while (next_frame(&f))
        if (f.type == LS_TRIGGER && ls_get_u32(f.payload) == part) copies++;
    CHECK(copies == LS_MAX_ATTEMPTS);
    CHECK(events[LS_EV_SEND_LOST] >= 1);
}

static void a_scheduled_reject_keeps_its_part_while_newer_parts_arrive(void)
{
    ls_mcu m;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    hello(&m, 1, LS_FAILSAFE_REJECT_ALL, 0);
    uint32_t first = ls_mcu_trigger(&m, 0, 1);
    reject(&m, 2, first, 500 * MS, 2);
    CHECK(answer_to(2) == 0);
    uint32_t oldest_unscheduled = ls_mcu_trigger(&m, 0, 3);
    for (unsigned i = 0; i < 2 * LS_PART_SLOTS; i++) ls_mcu_trigger(&m, 0, 4 + i);
    ls_mcu_poll(&m, 500 * MS);
    CHECK(events[LS_EV_FIRED] == 1);
    reject(&m, 3, oldest_unscheduled, 600 * MS, 501 * MS);
    CHECK(answer_to(3) == LS_NACK_UNKNOWN_PART);
}

static void an_ack_releases_the_trigger(void)
{
    ls_mcu m;
    ls_frame f;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    ls_mcu_trigger(&m, 0, 5);
    CHECK(next_of(LS_TRIGGER, &f));
    uint8_t p[2];
    ls_put_u16(p, f.seq);
    feed(&m, LS_ACK, 0, 3, p, 2, 6);
    CHECK(events[LS_EV_TRIGGER_ACKED] == 1);
}

static void time_sync_echoes_the_host_time_with_the_mcu_clock(void)
{
    ls_mcu m;
    ls_frame f;
    reset_board();
    ls_mcu_init(&m, &board, HZ, "t", 0);
    uint8_t p[8];
    ls_put_u64(p, 0x1122334455667788ull);
    feed(&m, LS_TIME_SYNC_REQUEST, 0, 1, p, 8, 777);
    CHECK(next_of(LS_TIME_SYNC_REPLY, &f));
    CHECK(ls_get_u64(f.payload) == 0x1122334455667788ull && ls_get_u64(f.payload + 8) == 777);
}

int main(void)
{
    RUN(crc32_matches_the_check_value);
    RUN(cobs_round_trips_zeros_and_long_runs);
    RUN(decoder_resynchronises_after_garbage_and_a_crc_error);
    RUN(boots_in_failsafe_and_announces_itself);
    RUN(hello_opens_a_session_and_clears_the_failsafe);
    RUN(reject_fires_on_the_mcu_clock_for_the_pulse_width);
    RUN(reject_refusals_are_nacked_with_their_reason);
    RUN(a_retransmitted_reject_is_acked_again_but_scheduled_once);
    RUN(host_silence_enters_the_failsafe_and_hello_releases_it);
    RUN(heartbeat_reports_failsafe_and_peer_silence);
    RUN(unacknowledged_frames_are_retransmitted_then_given_up);
    RUN(a_scheduled_reject_keeps_its_part_while_newer_parts_arrive);
    RUN(an_ack_releases_the_trigger);
    RUN(time_sync_echoes_the_host_time_with_the_mcu_clock);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
