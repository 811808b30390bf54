/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Codec pieces the library's layers share but programs do not need (the public
 * codecs are in dga/util.h): one hex digit reader, so that every hex parser in
 * the library agrees on which characters are digits.
 */
#ifndef DGA_CORE_CODEC_H
#define DGA_CORE_CODEC_H

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other character. */
int hex_value(char ch);

#endif
