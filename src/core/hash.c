#include "hash.h"

#include <math.h>
#include <xxhash.h>

#include "sluice.h"

uint64_t sl_hash_seed(const char *salt, size_t len)
{
    return XXH3_64bits(salt, len);
}

uint64_t sl_hash_unit(uint64_t seed, const char *unit, size_t len)
{
    return XXH3_64bits_withSeed(unit, len, seed);
}

uint64_t sl_hash_point(uint64_t seed, const char *unit, size_t len)
{
    return XXH3_64bits_withSeed(unit, len, seed) >> 11;
}

uint64_t sl_hash_threshold(double pct)
{
    if (!(pct > 0))
        return 0;
    if (pct >= 100)
        return SL_HASH_ONE;
    /* Exact for any pct with <= 53 significant bits after scaling. */
    return (uint64_t)llround(ldexp(pct / 100.0, 53));
}

double sl_bucket(const char *salt, size_t saltlen, const char *unit, size_t unitlen)
{
    return ldexp((double)sl_hash_point(sl_hash_seed(salt, saltlen), unit, unitlen), -53);
}
