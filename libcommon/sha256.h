/* SHA-256 without libcrypto (see sha256.c). */
#ifndef LQOS_SHA256_H
#define LQOS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LQOS_SHA256_LEN 32

/* The SHA-256 digest of `len` bytes at `data`. */
void lqos_sha256(const void *data, size_t len, unsigned char out[LQOS_SHA256_LEN]);

#endif
