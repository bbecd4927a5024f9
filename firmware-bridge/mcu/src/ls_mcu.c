#include "ls_mcu.h"

#include <string.h>

static uint64_t ms_to_ticks(const ls_mcu *m, uint32_t ms) { return (uint64_t)m->clock_hz * ms / 1000u; }

static void emit(ls_mcu *m, ls_event e, uint32_t part, uint64_t a, uint64_t b, uint8_t c)
{
    if (m->platform.event) m->platform.event(m->platform.ctx, e, part, a, b, c);
}

static void set_output(ls_mcu *m, uint8_t line, bool active)
{
    uint16_t bit = (uint16_t)(1u << line);
    m->outputs = active ? (uint16_t)(m->outputs | bit) : (uint16_t)(m->outputs & ~bit);
    m->platform.set_output(m->platform.ctx, line, active);
}

static void send_unreliable(ls_mcu *m, uint8_t type, const uint8_t *payload, size_t len)
{
    uint8_t wire[LS_MAX_WIRE];
    size_t n = ls_frame_write(type, 0, m->seq++, payload, len, wire);
    m->platform.write(m->platform.ctx, wire, n);
}

/* Queues a reliable frame for retransmission until acked; false when all slots are busy. */
static bool send_reliable(ls_mcu *m, uint8_t type, uint32_t part, const uint8_t *payload, size_t len, uint64_t now)
{
    for (unsigned i = 0; i < LS_TX_SLOTS; i++) {
        ls_tx *t = &m->tx[i];
        if (t->used) continue;
        t->used = true;
        t->type = type;
        t->part = part;
        t->seq = m->seq++;
        t->attempts = 1;
        t->sent_at = now;
        t->len = ls_frame_write(type, LS_FLAG_ACK_REQUESTED, t->seq, payload, len, t->wire);
        m->platform.write(m->platform.ctx, t->wire, t->len);
        return true;
    }
    m->lost_frames++;
    return false;
}

static void answer(ls_mcu *m, uint16_t seq, uint8_t reason)
{
    uint8_t p[3];
    ls_put_u16(p, seq);
    p[2] = reason;
    send_unreliable(m, reason ? LS_NACK : LS_ACK, p, reason ? 3u : 2u);
}

static void send_io_state(ls_mcu *m, uint64_t now)
{
    uint8_t p[12];
    ls_put_u16(p, m->inputs);
    ls_put_u16(p + 2, m->outputs);
    ls_put_u64(p + 4, now);
    send_unreliable(m, LS_IO_STATE, p, sizeof p);
}

static void send_capabilities(ls_mcu *m, uint64_t now)
{
    uint8_t p[17 + 32];
    size_t name_len = m->name ? strlen(m->name) : 0;
    if (name_len > 32) name_len = 32;
    p[0] = LS_VERSION;
    p[1] = LS_FIRMWARE_MAJOR;
    p[2] = LS_FIRMWARE_MINOR;
    p[3] = LS_FIRMWARE_PATCH;
    ls_put_u32(p + 4, m->clock_hz);
    ls_put_u64(p + 8, now);
    p[16] = LS_PART_SLOTS;
    if (name_len) memcpy(p + 17, m->name, name_len);
    send_reliable(m, LS_CAPABILITIES, 0, p, 17 + name_len, now);
}

static void enter_failsafe(ls_mcu *m, uint8_t why, uint64_t now)
{
    if (m->failsafe) return;
    m->failsafe = true;
    set_output(m, m->failsafe_mode == LS_FAILSAFE_STOP_LINE ? LS_OUT_LINE_STOP : LS_OUT_EJECTOR, true);
    emit(m, LS_EV_FAILSAFE_ON, 0, why, 0, 0);
    send_io_state(m, now);
}

static void leave_failsafe(ls_mcu *m, uint64_t now)
{
    if (!m->failsafe) return;
    m->failsafe = false;
    set_output(m, LS_OUT_LINE_STOP, false);
    if (!m->pulse_active) set_output(m, LS_OUT_EJECTOR, false);
    emit(m, LS_EV_FAILSAFE_OFF, 0, 0, 0, 0);
    send_io_state(m, now);
}

static void dup_reset(ls_dup *d) { d->empty = true; d->seen = 0; }

static bool dup_check(const ls_dup *d, uint16_t seq, uint8_t *answer_out)
{
    if (d->empty) return false;
    int16_t behind = (int16_t)(uint16_t)(d->highest - seq);
    if (behind < 0 || behind >= (int16_t)LS_DUP_WINDOW) return false;
    if (!(d->seen & (1ull << behind))) return false;
    *answer_out = d->answers[seq % LS_DUP_WINDOW];
    return true;
}

static void dup_record(ls_dup *d, uint16_t seq, uint8_t reason)
{
    if (d->empty) {
        d->empty = false;
        d->highest = seq;
        d->seen = 1;
    } else {
        int16_t ahead = (int16_t)(uint16_t)(seq - d->highest);
        if (ahead > 0) {
            d->seen = ahead >= (int16_t)LS_DUP_WINDOW ? 0 : d->seen << ahead;
            d->seen |= 1;
            d->highest = seq;
        } else if (-ahead < (int16_t)LS_DUP_WINDOW) {
            d->seen |= 1ull << -ahead;
        } else {
            d->highest = seq;
            d->seen = 1;
        }
    }
    d->answers[seq % LS_DUP_WINDOW] = reason;
}

static ls_part *find_part(ls_mcu *m, uint32_t id)
{
    for (unsigned i = 0; i < LS_PART_SLOTS; i++)
        if (m->parts[i].state != 0 && m->parts[i].part == id) return &m->parts[i];
    return 0;
}

/* Handles one reliable frame's content; returns 0 (ack) or a nack reason. */
static uint8_t handle_reliable(ls_mcu *m, const ls_frame *f, uint64_t now)
{
    switch (f->type) {
    case LS_HELLO: {
        if (f->len != 9 || f->payload[4] > LS_FAILSAFE_STOP_LINE) return LS_NACK_MALFORMED;
        uint16_t interval = ls_get_u16(f->payload), timeout = ls_get_u16(f->payload + 2);
        if (interval == 0 || timeout <= interval) return LS_NACK_MALFORMED;
        m->heartbeat_interval = ms_to_ticks(m, interval);
        m->heartbeat_timeout = ms_to_ticks(m, timeout);
        if (m->failsafe && m->failsafe_mode != f->payload[4]) {
            /* Switching mode while in fail-safe: release the old output before leaving. */
            set_output(m, m->failsafe_mode == LS_FAILSAFE_STOP_LINE ? LS_OUT_LINE_STOP : LS_OUT_EJECTOR, false);
        }
        m->failsafe_mode = f->payload[4];
        m->pulse_ticks = (uint64_t)m->clock_hz * ls_get_u32(f->payload + 5) / 1000000u;
        m->session = true;
        leave_failsafe(m, now);
        emit(m, LS_EV_SESSION, 0, 0, 0, 0);
        send_capabilities(m, now);
        return 0;
    }
    case LS_REJECT: {
        if (f->len != 12) return LS_NACK_MALFORMED;
        uint32_t id = ls_get_u32(f->payload);
        uint64_t fire_at = ls_get_u64(f->payload + 4);
        uint8_t reason = 0;
        ls_part *p = find_part(m, id);
        if (!m->session) reason = LS_NACK_NOT_READY;
        else if (!p) reason = LS_NACK_UNKNOWN_PART;
        else if (fire_at < now) reason = LS_NACK_TOO_LATE;
        if (reason) {
            emit(m, LS_EV_REJECT_REFUSED, id, reason, 0, 0);
            return reason;
        }
        p->fire_at = fire_at;
        p->state = 2;
        emit(m, LS_EV_REJECT_ACCEPTED, id, fire_at, 0, 0);
        return 0;
    }
    case LS_FAILSAFE:
        if (f->len != 1) return LS_NACK_MALFORMED;
        enter_failsafe(m, 2, now);
        return 0;
    case LS_ERROR:
        return f->len >= 1 ? 0 : LS_NACK_MALFORMED;
    default:
        return LS_NACK_UNKNOWN_TYPE;
    }
}

static void handle_frame(ls_mcu *m, const ls_frame *f, uint64_t now)
{
    m->last_rx = now;
    if (f->flags & LS_FLAG_ACK_REQUESTED) {
        uint8_t reason;
        if (f->type == LS_HELLO) dup_reset(&m->dup);
        if (dup_check(&m->dup, f->seq, &reason)) {
            answer(m, f->seq, reason);
            return;
        }
        reason = handle_reliable(m, f, now);
        dup_record(&m->dup, f->seq, reason);
        answer(m, f->seq, reason);
        return;
    }
    switch (f->type) {
    case LS_ACK:
    case LS_NACK:
        if (f->len < 2) return;
        for (unsigned i = 0; i < LS_TX_SLOTS; i++) {
            ls_tx *t = &m->tx[i];
            if (!t->used || t->seq != ls_get_u16(f->payload)) continue;
            t->used = false;
            if (t->type == LS_TRIGGER && f->type == LS_ACK) emit(m, LS_EV_TRIGGER_ACKED, t->part, 0, 0, 0);
        }
        return;
    case LS_TIME_SYNC_REQUEST: {
        if (f->len != 8) return;
        uint8_t p[16];
        memcpy(p, f->payload, 8);
        ls_put_u64(p + 8, now);
        send_unreliable(m, LS_TIME_SYNC_REPLY, p, sizeof p);
        return;
    }
    default:
        return; /* heartbeat: last_rx is all it does; unknown unreliable frames are ignored */
    }
}

void ls_mcu_init(ls_mcu *m, const ls_platform *platform, uint32_t clock_hz, const char *name, uint64_t now)
{
    memset(m, 0, sizeof *m);
    m->platform = *platform;
    m->clock_hz = clock_hz;
    m->name = name;
    m->next_part = 1;
    m->heartbeat_interval = ms_to_ticks(m, 100);
    m->heartbeat_timeout = ms_to_ticks(m, 500);
    m->pulse_ticks = ms_to_ticks(m, 20);
    m->last_rx = now;
    m->last_heartbeat = now;
    ls_decoder_init(&m->decoder);
    dup_reset(&m->dup);
    /* No host has decided anything yet: start in the fail-safe; the first Hello releases it. */
    enter_failsafe(m, 3, now);
    send_capabilities(m, now);
}

void ls_mcu_receive(ls_mcu *m, const uint8_t *bytes, size_t len, uint64_t now)
{
    ls_frame f;
    for (size_t i = 0; i < len; i++)
        if (ls_decoder_push(&m->decoder, bytes[i], &f)) handle_frame(m, &f, now);
}

static void fire(ls_mcu *m, ls_part *p, uint64_t now)
{
    uint8_t payload[21];
    ls_put_u32(payload, p->part);
    ls_put_u64(payload + 4, now);
    ls_put_u64(payload + 12, p->fire_at);
    payload[20] = 0;
    set_output(m, LS_OUT_EJECTOR, true);
    m->pulse_active = true;
    m->pulse_end = now + m->pulse_ticks;
    emit(m, LS_EV_FIRED, p->part, now, p->fire_at, 0);
    p->state = 0;
    send_reliable(m, LS_REJECT_FIRED, p->part, payload, sizeof payload, now);
}

void ls_mcu_poll(ls_mcu *m, uint64_t now)
{
    for (unsigned i = 0; i < LS_PART_SLOTS; i++)
        if (m->parts[i].state == 2 && now >= m->parts[i].fire_at) fire(m, &m->parts[i], now);

    if (m->pulse_active && now >= m->pulse_end) {
        m->pulse_active = false;
        if (!(m->failsafe && m->failsafe_mode == LS_FAILSAFE_REJECT_ALL)) set_output(m, LS_OUT_EJECTOR, false);
    }

    if (m->session && !m->failsafe && now - m->last_rx > m->heartbeat_timeout) enter_failsafe(m, 1, now);

    if (now - m->last_heartbeat >= m->heartbeat_interval) {
        uint8_t p[11];
        m->last_heartbeat = now;
        ls_put_u64(p, now);
        p[8] = (uint8_t)((m->failsafe ? 1u : 0u) | (m->session && now - m->last_rx > m->heartbeat_timeout ? 2u : 0u));
        ls_put_u16(p + 9, (uint16_t)m->decoder.faults);
        send_unreliable(m, LS_HEARTBEAT, p, sizeof p);
    }

    uint64_t rto = ms_to_ticks(m, LS_RETRANSMIT_MS);
    for (unsigned i = 0; i < LS_TX_SLOTS; i++) {
        ls_tx *t = &m->tx[i];
        if (!t->used || now - t->sent_at < rto) continue;
        if (t->attempts >= LS_MAX_ATTEMPTS) {
            t->used = false;
            m->lost_frames++;
            emit(m, LS_EV_SEND_LOST, t->part, t->type, t->seq, 0);
            continue;
        }
        t->attempts++;
        t->sent_at = now;
        m->platform.write(m->platform.ctx, t->wire, t->len);
    }
}

uint32_t ls_mcu_trigger(ls_mcu *m, uint8_t input, uint64_t ticks)
{
    uint32_t id = m->next_part++;
    if (m->next_part == 0) m->next_part = 1;
    /* Ring of part slots: the oldest undecided part is forgotten (a reject for it is then UnknownPart); a part
     * with a reject scheduled keeps its slot until it fires. All slots scheduled: the part is reported untracked. */
    ls_part *p = 0;
    for (unsigned tries = 0; tries < LS_PART_SLOTS && !p; tries++) {
        ls_part *candidate = &m->parts[m->next_slot];
        m->next_slot = (m->next_slot + 1) % LS_PART_SLOTS;
        if (candidate->state != 2) p = candidate;
    }
    if (p) {
        p->part = id;
        p->fire_at = 0;
        p->state = 1;
    }
    uint8_t payload[13];
    ls_put_u32(payload, id);
    ls_put_u64(payload + 4, ticks);
    payload[12] = input;
    return send_reliable(m, LS_TRIGGER, id, payload, sizeof payload, ticks) ? id : 0;
}

bool ls_mcu_sensor_frame(ls_mcu *m, uint8_t channel, uint64_t first_ticks, uint32_t period_ticks, const int16_t *samples, uint8_t count)
{
    uint8_t p[LS_MAX_PAYLOAD];
    if (count > (LS_MAX_PAYLOAD - 14) / 2) return false;
    p[0] = channel;
    p[1] = count;
    ls_put_u64(p + 2, first_ticks);
    ls_put_u32(p + 10, period_ticks);
    for (uint8_t i = 0; i < count; i++) ls_put_u16(p + 14 + 2 * i, (uint16_t)samples[i]);
    send_unreliable(m, LS_SENSOR_FRAME, p, 14u + 2u * count);
    return true;
}
