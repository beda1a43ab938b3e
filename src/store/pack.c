/* pack.c - packing of metric checkpoints (see store.h).
 *
 * A checkpoint is mostly zeros and small counts: sparse latency histograms
 * (uint64 counts), window slots (uint32 counts), many slots empty - 26 KB per
 * arm, ~90% zero bytes under load. Packed in 4-byte units - a run of zero
 * units as its length, any other unit as a varint (a count below 64 takes one
 * byte) - a busy arm shrinks ~7x and an idle one ~100x, for about 4 us per
 * arm. 8-byte units do worse (two uint32 counts make one wide word); zlib
 * level 1 packs tighter but costs ~70 us per arm: too much CPU for a
 * checkpoint of every test every second on the event loop.
 *
 * Format: varint(raw length); then LEB128 varints v until the raw length's
 * whole units are filled: v even - one nonzero unit v / 2; v odd - (v - 1) / 2
 * zero units (at least one); then the raw length's last (raw % 4) bytes
 * verbatim. Units are in host byte order, like the checkpoint itself. Every
 * unit has one encoding, so equal checkpoints pack to equal bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define SL_PACK_UNPACKMAX ((size_t)64 << 20) /* refuse larger claims from a corrupt row */

size_t sl_store_pack_bound(size_t n)
{
    return n + n / 4 + 24; /* a unit is at most a 5-byte varint */
}

static size_t sl_put_varint(unsigned char *p, uint64_t v)
{
    size_t k = 0;
    for (; v >= 0x80; v >>= 7)
        p[k++] = (unsigned char)(v | 0x80);
    p[k++] = (unsigned char)v;
    return k;
}

static uint32_t sl_unit(const unsigned char *s, size_t u)
{
    uint32_t x;
    memcpy(&x, s + u * 4, sizeof x);
    return x;
}

size_t sl_store_pack(const void *src, size_t n, void *dst, size_t cap)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    size_t nu = n / 4, u = 0;
    if (cap < sl_store_pack_bound(n))
        return 0;
    size_t k = sl_put_varint(d, n);
    while (u < nu) {
        uint32_t x = sl_unit(s, u);
        size_t z = 0;
        while (u + z < nu && sl_unit(s, u + z) == 0)
            z++;
        k += sl_put_varint(d + k, z ? (uint64_t)z << 1 | 1 : (uint64_t)x << 1);
        u += z ? z : 1;
    }
    memcpy(d + k, s + nu * 4, n % 4);
    return k + n % 4;
}

/* Read a varint at p[*k..n); -1 if it runs off the end or past 64 bits. */
static int sl_get_varint(const unsigned char *p, size_t n, size_t *k, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; *k < n && shift < 64; shift += 7) {
        unsigned char b = p[(*k)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Read a varint that must fit in size_t. */
static int sl_get_size(const unsigned char *p, size_t n, size_t *k, size_t *out)
{
    uint64_t v;
    if (sl_get_varint(p, n, k, &v) || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* One token into units out[*u..nu): a nonzero unit or a run of zero units. */
static int sl_unpack_token(const unsigned char *p, size_t n, size_t *k, unsigned char *out,
                           size_t nu, size_t *u)
{
    uint64_t v;
    if (sl_get_varint(p, n, k, &v))
        return -1;
    if (!(v & 1)) {
        uint32_t x = (uint32_t)(v >> 1);
        if (x == 0 || v >> 33)
            return -1;
        memcpy(out + (*u)++ * 4, &x, sizeof x);
        return 0;
    }
    if (v >> 1 == 0 || v >> 1 > nu - *u)
        return -1;
    memset(out + *u * 4, 0, (size_t)(v >> 1) * 4);
    *u += (size_t)(v >> 1);
    return 0;
}

/* Tokens and tail from p[k..n) into raw bytes of out; -1 if they do not fill it exactly. */
static int sl_unpack_body(const unsigned char *p, size_t n, size_t k, unsigned char *out,
                          size_t raw)
{
    size_t u = 0;
    while (u < raw / 4)
        if (sl_unpack_token(p, n, &k, out, raw / 4, &u))
            return -1;
    if (n - k != raw % 4)
        return -1;
    memcpy(out + u * 4, p + k, raw % 4);
    return 0;
}

int sl_store_unpack(const void *src, size_t n, void **out, size_t *len, struct sl_err *err)
{
    const unsigned char *p = src;
    size_t k = 0, raw = 0;
    *out = NULL;
    *len = 0;
    if (sl_get_size(p, n, &k, &raw) || raw == 0 || raw > SL_PACK_UNPACKMAX)
        return sl_err_set(err, SL_EINVAL, "packed checkpoint is malformed");
    unsigned char *buf = malloc(raw);
    if (!buf)
        return sl_err_set(err, SL_ENOMEM, "out of memory unpacking a checkpoint");
    if (sl_unpack_body(p, n, k, buf, raw)) {
        free(buf);
        return sl_err_set(err, SL_EINVAL, "packed checkpoint is malformed");
    }
    *out = buf;
    *len = raw;
    return 0;
}
