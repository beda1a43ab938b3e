#include "events.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sl_events_init(struct sl_events *ev, size_t cap, sl_event_sink_fn sink, void *ud)
{
    memset(ev, 0, sizeof *ev);
    ev->ring = calloc(cap, sizeof *ev->ring);
    if (!ev->ring)
        return -1;
    ev->cap = cap;
    ev->next_seq = 1;
    ev->sink = sink;
    ev->sink_ud = ud;
    return 0;
}

void sl_events_destroy(struct sl_events *ev)
{
    for (size_t i = 0; ev->ring && i < ev->cap; i++)
        free(ev->ring[i].detail);
    free(ev->ring);
    ev->ring = NULL;
}

static void sl_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

struct sl_event *sl_events_append(struct sl_events *ev, double at, int kind, const char *subject,
                                  const char *actor, const char *action, const char *from,
                                  const char *to, const char *reason, const char *detail,
                                  double value)
{
    struct sl_event *e = &ev->ring[(ev->next_seq - 1) % ev->cap];
    free(e->detail);
    memset(e, 0, sizeof *e);
    e->seq = ev->next_seq++;
    e->at = at;
    e->kind = kind;
    e->value = value;
    sl_copy(e->subject, sizeof e->subject, subject);
    sl_copy(e->actor, sizeof e->actor, actor ? actor : "engine");
    sl_copy(e->action, sizeof e->action, action);
    sl_copy(e->from, sizeof e->from, from);
    sl_copy(e->to, sizeof e->to, to);
    sl_copy(e->reason, sizeof e->reason, reason);
    if (ev->count < ev->cap)
        ev->count++;
    bool lost = detail && !(e->detail = strdup(detail));
    if (ev->sink)
        ev->sink(ev->sink_ud, e);
    return lost ? NULL : e;
}

size_t sl_events_since(const struct sl_events *ev, uint64_t since, const struct sl_event **out,
                       size_t max)
{
    uint64_t first = ev->next_seq - ev->count; /* oldest seq still held */
    if (since + 1 > first)
        first = since + 1;
    size_t n = 0;
    for (uint64_t s = first; s < ev->next_seq && n < max; s++)
        out[n++] = &ev->ring[(s - 1) % ev->cap];
    return n;
}
