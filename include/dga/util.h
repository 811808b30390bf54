/* SPDX-License-Identifier: Apache-2.0 */
/* Small public helpers the programs share with the library: codecs, bounded file reads, time. */
#ifndef DGA_UTIL_H
#define DGA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "dga/error.h"

/*
 * Hex text to bytes. Surrounding ASCII whitespace is ignored; upper and lower
 * case are accepted; an odd number of digits or any other character is
 * DGA_E_BAD_HEX. *ret is malloc'd (caller frees), untouched on failure.
 */
dga_err dga_hex_decode(const char *text, size_t text_len, uint8_t **ret, size_t *ret_len);
/* Decodes exactly `want` bytes into out (fixed-size values such as nonces); trims whitespace. */
dga_err dga_hex_decode_fixed(const char *text, uint8_t *out, size_t want);
/* The same without trimming: text must be exactly 2 * want hex digits. */
dga_err dga_hex_decode_exact(const char *text, uint8_t *out, size_t want);
/* Lowercase hex of n bytes into out, which must hold 2n+1 bytes. */
void dga_hex_encode(const uint8_t *in, size_t n, char *out);
void dga_hex_encode_upper(const uint8_t *in, size_t n, char *out);

/* Standard base64 with padding (RFC 4648 §4); whitespace is not accepted. */
dga_err dga_base64_decode(const char *text, size_t text_len, uint8_t **ret, size_t *ret_len);

/*
 * Base64url without padding (RFC 7515 §2), strict: alphabet A-Z a-z 0-9 - _
 * only, no '=' or whitespace, no length 4n+1, unused trailing bits zero
 * (else DGA_E_BAD_BASE64). *ret is malloc'd and NUL-terminated (not counted
 * in *ret_len), untouched on failure.
 */
dga_err dga_base64url_decode(const char *text, size_t text_len, uint8_t **ret, size_t *ret_len);
/* Base64url without padding of n bytes; *ret is a malloc'd NUL-terminated string. */
dga_err dga_base64url_encode(const uint8_t *in, size_t n, char **ret);

/*
 * How every input file is opened (the one place): O_RDONLY | O_CLOEXEC |
 * O_NONBLOCK, so that a FIFO or a device cannot block the open; fstat on the
 * descriptor, which must be a regular file; then O_NONBLOCK is cleared and at
 * most `cap` bytes are read. The result is NUL-terminated (not counted in
 * *ret_len); *ret is untouched on failure.
 *
 * Symbolic links: a path the user names (a CLI argument, a config or key
 * file) is followed, as /etc symlinks are normal; an entry the program finds
 * inside one of its stores or caches (RIM store, OCSP store, proxy cache) is
 * read with DGA_FILE_NOFOLLOW, so that a link planted there is refused
 * rather than read from wherever it points.
 *
 * DGA_E_IO (errno says why: missing, permission...), DGA_E_NOT_REGULAR_FILE
 * (a FIFO, socket, device or directory; or, with DGA_FILE_NOFOLLOW, a
 * symbolic link as the last component), DGA_E_TOO_LARGE, DGA_E_NOMEM.
 */
#define DGA_FILE_NOFOLLOW 1u
dga_err dga_file_read_flags(const char *path, size_t cap, unsigned flags, uint8_t **ret,
                            size_t *ret_len);
/* dga_file_read_flags without flags: a path the user named. */
dga_err dga_file_read(const char *path, size_t cap, uint8_t **ret, size_t *ret_len);
/*
 * The same bounded read from a descriptor already open (standard input: a
 * pipe is fine here, the caller chose it), until end of file.
 */
dga_err dga_fd_read(int fd, size_t cap, uint8_t **ret, size_t *ret_len);

/*
 * Writes all len bytes of p to fd, retrying short writes and EINTR: the one
 * write loop. DGA_E_IO (errno from write(2); a write of 0 bytes sets EIO) when
 * fd refuses; how much was written then is unknown.
 */
dga_err dga_write_all(int fd, const void *p, size_t len);

/*
 * Replaces (or creates) path with len bytes of data, atomically and durably:
 * a hidden temporary file beside it ("<dir>/.<name>.XXXXXX", created with
 * O_EXCL | O_NOFOLLOW | O_CLOEXEC), mode set exactly (no umask), every byte
 * written, fsync, rename over path, fsync of the directory. A reader sees the
 * old file or the new one, never a part; after a crash the new one survives
 * once this returned DGA_E_OK. DGA_E_BAD_ARGUMENT (path, mode), DGA_E_IO
 * (the temporary file is removed; the directory must exist).
 */
dga_err dga_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* RFC 3339 UTC timestamp "YYYY-MM-DDTHH:MM:SSZ" to time_t and back (no timegm, no local zone). */
dga_err dga_time_parse(const char *text, time_t *ret);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with NUL) into out. */
void dga_time_format(time_t t, char out[21]);

/* Compares n bytes without an early exit. */
bool dga_mem_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
