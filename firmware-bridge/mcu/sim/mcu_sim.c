/* The MCU core on a pseudo-terminal: the host opens the printed slave path as its serial port.
 * Control on stdin (one command a line), events on stdout (one a line) — see firmware-bridge/mcu/README.md.
 *   mcu-sim [--clock-hz N] [--drift-ppm X] [--noise N] [--seed S] [--name NAME] [--flood 1]
 */
#include "ls_mcu.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int master_fd = -1;
static bool muted, deaf;
static unsigned noise_one_in;
static uint32_t clock_hz = 1000000u;
static double drift_ppm;
static struct timespec started;
static uint64_t rng_state = 88172645463325252ull;
static unsigned long corrupted_bytes;
static bool flood; /* --flood 1: a 64-sample sensor frame every loop turn, as fast as the host drains the pty */

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Line noise: flips one random bit in about one byte of every noise_one_in. */
static void add_noise(uint8_t *bytes, size_t n)
{
    if (!noise_one_in) return;
    for (size_t i = 0; i < n; i++) {
        if (next_random() % noise_one_in == 0) {
            bytes[i] ^= (uint8_t)(1u << (next_random() % 8));
            corrupted_bytes++;
        }
    }
}

static uint64_t now_ticks(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double seconds = (double)(t.tv_sec - started.tv_sec) + (double)(t.tv_nsec - started.tv_nsec) / 1e9;
    return (uint64_t)(seconds * clock_hz * (1.0 + drift_ppm / 1e6));
}

static void sim_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (muted) return;
    uint8_t copy[LS_MAX_WIRE];
    memcpy(copy, data, len);
    add_noise(copy, len);
    size_t done = 0;
    while (done < len) {
        /* Like a UART with nobody listening: when the host stops draining the pty, bytes are dropped. */
        struct pollfd out = { master_fd, POLLOUT, 0 };
        if (poll(&out, 1, 100) <= 0) return;
        ssize_t w = write(master_fd, copy + done, len - done);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return;
        }
        done += (size_t)w;
    }
}

static void sim_output(void *ctx, uint8_t line, bool active)
{
    (void)ctx;
    printf("OUTPUT %u %d\n", line, active ? 1 : 0);
}

static void sim_event(void *ctx, ls_event e, uint32_t part, uint64_t a, uint64_t b, uint8_t c)
{
    (void)ctx;
    switch (e) {
    case LS_EV_TRIGGER_ACKED: printf("TRIGGER_ACKED %u\n", part); break;
    case LS_EV_REJECT_ACCEPTED: printf("ACCEPTED %u %llu\n", part, (unsigned long long)a); break;
    case LS_EV_REJECT_REFUSED: printf("REFUSED %u %llu\n", part, (unsigned long long)a); break;
    case LS_EV_FIRED: printf("FIRED %u %llu %llu %u\n", part, (unsigned long long)a, (unsigned long long)b, c); break;
    case LS_EV_FAILSAFE_ON: printf("FAILSAFE_ON %llu\n", (unsigned long long)a); break;
    case LS_EV_FAILSAFE_OFF: printf("FAILSAFE_OFF\n"); break;
    case LS_EV_SESSION: printf("SESSION\n"); break;
    case LS_EV_SEND_LOST: printf("LOST %u %llu %llu\n", part, (unsigned long long)a, (unsigned long long)b); break;
    }
}

static int open_pty(void)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0 || grantpt(fd) != 0 || unlockpt(fd) != 0) return -1;
    const char *slave = ptsname(fd);
    if (!slave) return -1;
    /* Raw mode on the slave before the host opens it: no echo, no line editing, 0x00 passes through.
     * The slave stays open here so the master never sees a hang-up between host connections. */
    int slave_fd = open(slave, O_RDWR | O_NOCTTY);
    struct termios tio;
    if (slave_fd < 0 || tcgetattr(slave_fd, &tio) != 0) return -1;
    cfmakeraw(&tio);
    if (tcsetattr(slave_fd, TCSANOW, &tio) != 0) return -1;
    printf("PTY %s\n", slave);
    return fd;
}

static void command(ls_mcu *m, char *line)
{
    uint64_t now = now_ticks();
    char *word = strtok(line, " \t\r\n");
    if (!word) return;
    if (strcmp(word, "trigger") == 0) {
        char *arg = strtok(0, " \t\r\n");
        uint32_t part = ls_mcu_trigger(m, (uint8_t)(arg ? atoi(arg) : 0), now);
        printf("TRIGGER %u %llu\n", part, (unsigned long long)now);
    } else if (strcmp(word, "sensor") == 0) {
        char *arg = strtok(0, " \t\r\n");
        int count = arg ? atoi(arg) : 64;
        int16_t samples[121];
        if (count < 0 || count > 121) count = 121;
        for (int i = 0; i < count; i++) samples[i] = (int16_t)(1000.0 * sin(i * 0.2));
        ls_mcu_sensor_frame(m, 0, now, clock_hz / 1000u, samples, (uint8_t)count);
        printf("SENSOR %d\n", count);
    } else if (strcmp(word, "mute") == 0) {
        muted = true;
        printf("MUTED\n");
    } else if (strcmp(word, "unmute") == 0) {
        muted = false;
        printf("UNMUTED\n");
    } else if (strcmp(word, "deaf") == 0) {
        deaf = true;
        printf("DEAF\n");
    } else if (strcmp(word, "hear") == 0) {
        deaf = false;
        printf("HEARING\n");
    } else if (strcmp(word, "status") == 0) {
        printf("STATUS failsafe=%d session=%d outputs=%u rx_faults=%u lost=%u corrupted=%lu\n", m->failsafe, m->session,
               m->outputs, m->decoder.faults, m->lost_frames, corrupted_bytes);
    } else {
        printf("UNKNOWN_COMMAND %s\n", word);
    }
}

int main(int argc, char **argv)
{
    const char *name = "linesight-mcu-sim";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--clock-hz") == 0) clock_hz = (uint32_t)strtoul(argv[i + 1], 0, 10);
        else if (strcmp(argv[i], "--drift-ppm") == 0) drift_ppm = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--noise") == 0) noise_one_in = (unsigned)strtoul(argv[i + 1], 0, 10);
        else if (strcmp(argv[i], "--seed") == 0) rng_state = strtoull(argv[i + 1], 0, 10) | 1u;
        else if (strcmp(argv[i], "--name") == 0) name = argv[i + 1];
        else if (strcmp(argv[i], "--flood") == 0) flood = atoi(argv[i + 1]) != 0;
        else {
            fprintf(stderr, "mcu-sim: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    setvbuf(stdout, 0, _IOLBF, 0);
    clock_gettime(CLOCK_MONOTONIC, &started);
    master_fd = open_pty();
    if (master_fd < 0) {
        fprintf(stderr, "mcu-sim: cannot open a pseudo-terminal: %s\n", strerror(errno));
        return 1;
    }
    static ls_mcu mcu;
    const ls_platform platform = { sim_write, sim_output, sim_event, 0 };
    ls_mcu_init(&mcu, &platform, clock_hz, name, now_ticks());

    char line[256];
    size_t line_len = 0;
    for (;;) {
        struct pollfd fds[2] = { { master_fd, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
        if (poll(fds, 2, flood ? 0 : 1) < 0 && errno != EINTR) break;
        if (fds[0].revents & POLLIN) {
            uint8_t buf[512];
            ssize_t n = read(master_fd, buf, sizeof buf);
            if (n > 0 && !deaf) {
                add_noise(buf, (size_t)n);
                ls_mcu_receive(&mcu, buf, (size_t)n, now_ticks());
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            char c;
            ssize_t n = read(STDIN_FILENO, &c, 1);
            if (n <= 0) break; /* the test closed our stdin: exit */
            if (c == '\n' || line_len == sizeof line - 1) {
                line[line_len] = 0;
                line_len = 0;
                if (strncmp(line, "quit", 4) == 0) break;
                command(&mcu, line);
            } else {
                line[line_len++] = c;
            }
        }
        ls_mcu_poll(&mcu, now_ticks());
        if (flood && mcu.session) {
            static int16_t wave[64];
            for (int i = 0; i < 64; i++) wave[i] = (int16_t)(i * 100);
            ls_mcu_sensor_frame(&mcu, 1, now_ticks(), clock_hz / 10000u, wave, 64);
        }
    }
    return 0;
}
