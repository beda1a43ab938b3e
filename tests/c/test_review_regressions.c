/* test_review_regressions.c - defects found in review, each pinned by a test
 * named for it: sticky overrides ignored at 0%/100% and without a
 * remembered-assignment table; a thread's reader slot never released when its
 * per-thread cache evicted the engine (reclamation then stopped for good). */
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "sluice.h"
#include "tap.h"

static struct sl_engine *sticky_engine(int capacity)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.sticky_capacity = capacity;
    struct sl_engine *e = sl_engine_new(&o, NULL);
    struct sl_version_config a = {.model = "m", .version = "a"}, b = {.model = "m", .version = "b"};
    sl_engine_add_version(e, &a, NULL);
    sl_engine_add_version(e, &b, NULL);
    struct sl_test_config c = {.id = "t",
                               .name = "t",
                               .model = "m",
                               .control_version = "a",
                               .treatment_version = "b",
                               .routing = SL_ROUTING_STICKY};
    sl_engine_create_test(e, &c, NULL, NULL);
    sl_engine_act(e, "t", SL_VERB_START, "test", NULL, NULL);
    return e;
}

static int arm_of(struct sl_engine *e, const char *unit)
{
    struct sl_route r;
    return sl_engine_route(e, "m", unit, &r, NULL) ? -9 : r.arm;
}

static void sticky_overrides_apply_at_0_and_100_percent_and_without_memory(void)
{
    struct sl_engine *e = sticky_engine(65536);
    sl_engine_set_override(e, "t", "qa-1", SL_ARM_TREATMENT, NULL);
    sl_engine_set_override(e, "t", "qa-0", SL_ARM_CONTROL, NULL);
    sl_engine_set_allocation(e, "t", 0, "test", NULL, NULL);
    is_int(arm_of(e, "qa-1"), SL_ARM_TREATMENT, "an override to treatment holds at 0%");
    sl_engine_set_allocation(e, "t", 100, "test", NULL, NULL);
    is_int(arm_of(e, "qa-0"), SL_ARM_CONTROL, "an override to control holds at 100%");
    sl_engine_act(e, "t", SL_VERB_PAUSE, "test", NULL, NULL);
    is_int(arm_of(e, "qa-1"), SL_ARM_CONTROL, "a paused test sends overridden units to control");
    sl_engine_delete(e);

    e = sticky_engine(0);
    sl_engine_set_override(e, "t", "qa-0", SL_ARM_CONTROL, NULL);
    sl_engine_set_allocation(e, "t", 100, "test", NULL, NULL);
    is_int(arm_of(e, "qa-0"), SL_ARM_CONTROL, "overrides apply with sticky_capacity 0");
    sl_engine_delete(e);

    e = sticky_engine(65536);
    sl_engine_set_allocation(e, "t", 0, "test", NULL, NULL);
    for (int i = 0; i < 100; i++) { /* at 0% nobody may be remembered as control... */
        char u[16];
        snprintf(u, sizeof u, "u%d", i);
        arm_of(e, u);
    }
    sl_engine_set_allocation(e, "t", 100, "test", NULL, NULL);
    int treated = 0;
    for (int i = 0; i < 100; i++) {
        char u[16];
        snprintf(u, sizeof u, "u%d", i);
        treated += arm_of(e, u) == SL_ARM_TREATMENT;
    }
    is_int(treated, 100, "...so a later ramp to 100% reaches everyone");
    sl_engine_delete(e);
}

static void reader_slot_released_when_a_thread_cache_evicts_an_engine(void)
{
    struct sl_engine *keep = sticky_engine(16);
    bool all_freed = true;
    for (int round = 0; round < 4; round++) {
        arm_of(keep, "u");
        for (int k = 0; k < 9; k++) { /* more engines than the thread caches */
            struct sl_engine *other = sticky_engine(16);
            arm_of(other, "u");
            sl_engine_delete(other);
        }
        arm_of(keep, "u");
        sl_engine_set_allocation(keep, "t", 10 + round, "test", NULL, NULL);
        arm_of(keep, "u"); /* a call on the newest snapshot */
        sl_engine_tick(keep, NULL);
        all_freed &= keep->router.retired == NULL;
    }
    ok(all_freed, "retired snapshots are still freed after the thread used 9 other engines");
    sl_engine_delete(keep);
}

int main(void)
{
    sticky_overrides_apply_at_0_and_100_percent_and_without_memory();
    reader_slot_released_when_a_thread_cache_evicts_an_engine();
    return tap_done();
}
