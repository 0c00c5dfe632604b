/*
 * Clocks and poll_oneoff: resolution and time of every clock id, a monotonic clock that
 * moves forward, clock subscriptions that really wait, and an fd_read subscription on stdin.
 */
#include "probe.h"

static const char *const clock_names[] = {"realtime", "monotonic", "process_cputime",
                                          "thread_cputime"};

static __wasi_timestamp_t now(__wasi_clockid_t id) {
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(id, 1, &t) != 0) return 0;
    return t;
}

/* Sleeps through one clock subscription and prints what came back and whether it waited. */
static void sleep_ms(const char *label, uint64_t ms, int absolute) {
    __wasi_subscription_t sub = {.userdata = 42, .u = {.tag = __WASI_EVENTTYPE_CLOCK}};
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    uint64_t before = now(__WASI_CLOCKID_MONOTONIC);
    sub.u.u.clock.timeout = ms * 1000000 + (absolute ? before : 0);
    sub.u.u.clock.flags = absolute ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
    __wasi_event_t event;
    __wasi_size_t nevents = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(&sub, &event, 1, &nevents);
    uint64_t elapsed = now(__WASI_CLOCKID_MONOTONIC) - before;
    if (e != 0 || nevents != 1) { SAY("poll", label, errno_name(e), "events", num(nevents)); return; }
    SAY("poll", label, errno_name(event.error),
        event.type == __WASI_EVENTTYPE_CLOCK ? "type-clock" : "type-wrong",
        event.userdata == 42 ? "userdata-kept" : "userdata-lost",
        elapsed >= ms * 1000000 ? "waited" : "returned-early");
}

/* Waits for stdin to become readable, with a clock subscription as a safety net. */
static void poll_stdin(void) {
    __wasi_subscription_t subs[2] = {
        {.userdata = 1, .u = {.tag = __WASI_EVENTTYPE_FD_READ}},
        {.userdata = 2, .u = {.tag = __WASI_EVENTTYPE_CLOCK}},
    };
    subs[0].u.u.fd_read.file_descriptor = 0;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 5000000000ull;
    __wasi_event_t events[2];
    __wasi_size_t nevents = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(subs, events, 2, &nevents);
    if (e != 0) { SAY("poll stdin", errno_name(e)); return; }
    for (__wasi_size_t i = 0; i < nevents; i++) {
        if (events[i].userdata == 1)
            SAY("poll stdin", errno_name(events[i].error),
                events[i].type == __WASI_EVENTTYPE_FD_READ ? "ready" : "type-wrong");
        else
            SAY("poll stdin", "timed-out");
    }
}

int main(void) {
    for (__wasi_clockid_t id = 0; id < 4; id++) {
        __wasi_timestamp_t res = 0, t = 0;
        __wasi_errno_t e = __wasi_clock_res_get(id, &res);
        SAY("clock", clock_names[id], "res", errno_name(e), res > 0 ? "positive" : "zero");
        e = __wasi_clock_time_get(id, 1, &t);
        SAY("clock", clock_names[id], "time", errno_name(e), t > 0 ? "positive" : "zero");
    }
    __wasi_timestamp_t res = 0;
    SAY("clock invalid-id res", errno_name(__wasi_clock_res_get(7, &res)));

    /* 2020-01-01 and 2100-01-01 in nanoseconds since the epoch. */
    uint64_t wall = now(__WASI_CLOCKID_REALTIME);
    SAY("realtime", wall > 1577836800ull * 1000000000 && wall < 4102444800ull * 1000000000
                        ? "plausible" : "implausible");

    uint64_t first = now(__WASI_CLOCKID_MONOTONIC);
    sleep_ms("sleep-50ms", 50, 0);
    sleep_ms("abstime-20ms", 20, 1);
    SAY("monotonic", now(__WASI_CLOCKID_MONOTONIC) > first ? "increases" : "stalls");

    __wasi_event_t event;
    __wasi_size_t nevents = 0;
    SAY("poll no-subscriptions", errno_name(__wasi_poll_oneoff(0, &event, 0, &nevents)));
    poll_stdin();
    SAY("sched_yield", errno_name(__wasi_sched_yield()));
    return 0;
}
