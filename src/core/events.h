/* events.h - the engine's append-only event log: a bounded ring plus a sink.
 *
 * Provides sl_events_*: every lifecycle change and decision is appended with a
 * sequence number, time, actor and reason; the newest `cap` stay in memory and
 * each is handed to the sink callback (the store layer persists them). Uses
 * libc only; knows nothing of tests or policies. */
#ifndef SL_EVENTS_H
#define SL_EVENTS_H

#include "sluice.h"

struct sl_events {
    struct sl_event *ring;
    size_t cap, count; /* count <= cap */
    uint64_t next_seq;
    sl_event_sink_fn sink;
    void *sink_ud;
};

int sl_events_init(struct sl_events *ev, size_t cap, sl_event_sink_fn sink, void *ud);
void sl_events_destroy(struct sl_events *ev);

/* Append; strings are borrowed and truncated to the field sizes. Returns the
 * new event (valid until the ring wraps over it). NULL only if detail could
 * not be copied (the event is still appended, without detail). */
struct sl_event *sl_events_append(struct sl_events *ev, double at, int kind, const char *subject,
                                  const char *actor, const char *action, const char *from,
                                  const char *to, const char *reason, const char *detail,
                                  double value);

size_t sl_events_since(const struct sl_events *ev, uint64_t since, const struct sl_event **out,
                       size_t max);

#endif
