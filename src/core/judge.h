/* judge.h - the tick's judgement: ask the evaluator, pick, apply, log.
 *
 * Provides the per-tick evaluation of one running/paused test or monitoring
 * canary: guards first (rollback beats pause beats reduce beats alert), then
 * the recommendation (tests) or promotion criteria (canaries), then the ramp,
 * which moves only when no guard fired. Implements sl_engine_apply and
 * sl_engine_set_evaluator (sluice.h). Uses engine.h; knows nothing of Lua:
 * the policy host sits behind struct sl_evaluator. */
#ifndef SL_JUDGE_H
#define SL_JUDGE_H

#include <stdbool.h>

#include "engine.h"

/* Returns true when a guard fired (the ramp holds). *ramp_done is set when a
 * ramp policy is configured (the built-in schedule must then stay out). */
bool sl_judge_test(struct sl_engine *eng, struct sl_test *t, bool *ramp_done);
void sl_judge_canary(struct sl_engine *eng, struct sl_canary *k);

#endif
