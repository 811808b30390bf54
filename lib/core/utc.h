/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calendar time to seconds since the epoch, one way for the whole library:
 * proleptic Gregorian arithmetic, never timegm (a GNU extension whose -1
 * is also a valid answer, 1969-12-31T23:59:59Z) and never the local zone.
 */
#ifndef DGA_CORE_UTC_H
#define DGA_CORE_UTC_H

#include <time.h>

#include <openssl/asn1.h>

#include "dga/error.h"

/*
 * A UTC calendar time (struct tm fields: years since 1900, month 0-11, day
 * 1-31, hour 0-23, minute 0-59, second 0-60) as seconds since the epoch.
 * Fields out of range, or a result time_t cannot hold, are
 * DGA_E_BAD_ARGUMENT; *ret is untouched on failure.
 */
dga_err utc_from_tm(const struct tm *tm, time_t *ret);

/*
 * An ASN1_TIME (UTCTime or GeneralizedTime: certificate validity, OCSP
 * thisUpdate / nextUpdate) as seconds since the epoch. DGA_E_BAD_DER when
 * OpenSSL cannot read it (its error queue is left empty) or time_t cannot
 * hold it; *ret is untouched on failure.
 */
dga_err utc_from_asn1(const ASN1_TIME *t, time_t *ret);

#endif
