/* hash.h - the assignment hash: (salt, unit) -> fraction in [0,1).
 *
 * Provides the one documented formula every router strategy and every other
 * language reproduces (see sl_bucket in sluice.h), split into a per-test seed
 * computed once and a per-request step. Uses libxxhash (XXH3, 64-bit). Knows
 * nothing of tests or engines. */
#ifndef SL_HASH_H
#define SL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* seed = XXH3_64bits(salt) */
uint64_t sl_hash_seed(const char *salt, size_t len);

/* The 53-bit assignment point: XXH3_64bits_withSeed(unit, seed) >> 11.
 * fraction = point * 2^-53. */
uint64_t sl_hash_point(uint64_t seed, const char *unit, size_t len);

/* The full 64-bit unit hash XXH3_64bits_withSeed(unit, seed); point = hash >> 11. */
uint64_t sl_hash_unit(uint64_t seed, const char *unit, size_t len);

/* Scale a percentage in [0,100] to a threshold on points: a unit is in
 * treatment iff point < threshold. 100% maps to 2^53 (everyone). */
uint64_t sl_hash_threshold(double pct);

#define SL_HASH_ONE ((uint64_t)1 << 53)

#endif
