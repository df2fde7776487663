/* hash: 64-bit FNV-1a (Fowler, Noll, Vo), the one hash varprop keys things by (base
 * layer): the config hash of a shard's marker (experiment/shard.c), the parameter
 * groups of runs that share their weights (share.c), identical sweep variants
 * (sweep.c). Not cryptographic: every use confirms a match by comparing the values.
 * Pure inline functions; the bytes of a 64-bit word are taken least significant first
 * whatever the machine's byte order, so a hash written to a file is portable. */
#ifndef VP_HASH_H
#define VP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define VP_FNV_OFFSET 0xcbf29ce484222325ULL /* the hash of nothing */
#define VP_FNV_PRIME 0x100000001b3ULL

/* h extended by the n bytes at p. */
static inline uint64_t vp_fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * VP_FNV_PRIME;
    return h;
}

/* h extended by the 8 bytes of v, least significant first. */
static inline uint64_t vp_fnv_u64(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) h = (h ^ ((v >> (8 * i)) & 0xff)) * VP_FNV_PRIME;
    return h;
}

#endif
