/* Linesight line-MCU core: the MCU side of the protocol (docs/firmware-protocol.md). No HAL: the board supplies
 * a byte writer, an output setter and its clock (ticks passed into every call); the core never blocks. */
#ifndef LS_MCU_H
#define LS_MCU_H

#include "ls_frame.h"

#define LS_PART_SLOTS 16u
#define LS_TX_SLOTS 8u
#define LS_DUP_WINDOW 64u
#define LS_RETRANSMIT_MS 50u
#define LS_MAX_ATTEMPTS 10u

#define LS_OUT_EJECTOR 0u
#define LS_OUT_LINE_STOP 1u

#define LS_FAILSAFE_REJECT_ALL 0u
#define LS_FAILSAFE_STOP_LINE 1u

#define LS_FIRMWARE_MAJOR 1u
#define LS_FIRMWARE_MINOR 0u
#define LS_FIRMWARE_PATCH 0u

/* What the core tells the board (for logs; the simulator prints them for the tests). */
typedef enum {
    LS_EV_TRIGGER_ACKED,  /* part: the host acknowledged this trigger */
    LS_EV_REJECT_ACCEPTED, /* part, a = fire-at */
    LS_EV_REJECT_REFUSED, /* part, a = nack reason */
    LS_EV_FIRED,          /* part, a = fired at, b = asked fire-at (cause in c) */
    LS_EV_FAILSAFE_ON,    /* a = 1 host silent, 2 host command, 3 boot */
    LS_EV_FAILSAFE_OFF,
    LS_EV_SESSION,        /* a Hello opened a session */
    LS_EV_SEND_LOST       /* a = type, b = seq: retransmits exhausted */
} ls_event;

typedef struct {
    void (*write)(void *ctx, const uint8_t *data, size_t len);
    void (*set_output)(void *ctx, uint8_t line, bool active);
    void (*event)(void *ctx, ls_event event, uint32_t part, uint64_t a, uint64_t b, uint8_t c);
    void *ctx;
} ls_platform;

typedef struct {
    uint32_t part;
    uint64_t fire_at;
    uint8_t state; /* 0 free, 1 triggered, 2 reject scheduled */
} ls_part;

typedef struct {
    bool used;
    uint8_t type;
    uint16_t seq;
    uint32_t part;
    uint8_t attempts;
    uint64_t sent_at;
    size_t len;
    uint8_t wire[LS_MAX_WIRE];
} ls_tx;

typedef struct {
    bool empty;
    uint16_t highest;
    uint64_t seen;
    uint8_t answers[LS_DUP_WINDOW];
} ls_dup;

typedef struct {
    ls_platform platform;
    uint32_t clock_hz;
    const char *name;
    ls_decoder decoder;
    ls_dup dup;
    ls_tx tx[LS_TX_SLOTS];
    ls_part parts[LS_PART_SLOTS];
    uint16_t seq;
    uint32_t next_part;
    unsigned next_slot;
    bool session;
    bool failsafe;
    uint8_t failsafe_mode;
    uint64_t heartbeat_interval;
    uint64_t heartbeat_timeout;
    uint64_t pulse_ticks;
    uint64_t last_rx;
    uint64_t last_heartbeat;
    uint64_t pulse_end;
    bool pulse_active;
    uint16_t outputs;
    uint16_t inputs;
    uint32_t lost_frames;
} ls_mcu;

void ls_mcu_init(ls_mcu *m, const ls_platform *platform, uint32_t clock_hz, const char *name, uint64_t now);
/* Bytes from the UART, in order. */
void ls_mcu_receive(ls_mcu *m, const uint8_t *bytes, size_t len, uint64_t now);
/* Call often (every tick or from the main loop): heartbeats, host watchdog, reject schedule, retransmits. */
void ls_mcu_poll(ls_mcu *m, uint64_t now);
/* Photo-eye edge on input `input` at `ticks`: allocates a part id and reports it. Returns the id, 0 if the
 * transmit window is full (the trigger is not lost for the line: the part is still tracked). */
uint32_t ls_mcu_trigger(ls_mcu *m, uint8_t input, uint64_t ticks);
/* A block of ADC samples (unreliable: the next block supersedes a lost one). */
bool ls_mcu_sensor_frame(ls_mcu *m, uint8_t channel, uint64_t first_ticks, uint32_t period_ticks, const int16_t *samples, uint8_t count);

#endif
