/* SPDX-License-Identifier: Apache-2.0 */
/* Calendar and ASN.1 times to time_t without timegm (core/utc.h). */
#include "core/utc.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool tm_in_range(const struct tm *tm)
{
    return tm->tm_mon >= 0 && tm->tm_mon <= 11 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
           tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 && tm->tm_min <= 59 &&
           tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

dga_err utc_from_tm(const struct tm *tm, time_t *ret)
{
    if (tm == NULL || !tm_in_range(tm)) {
        return DGA_E_BAD_ARGUMENT;
    }
    int64_t days =
        days_from_civil((int64_t)tm->tm_year + 1900, (int64_t)tm->tm_mon + 1, tm->tm_mday);
    int64_t secs = days * 86400 + tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
    if ((int64_t)(time_t)secs != secs) {
        return DGA_E_BAD_ARGUMENT;
    }
    *ret = (time_t)secs;
    return DGA_E_OK;
}

dga_err utc_from_asn1(const ASN1_TIME *t, time_t *ret)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return DGA_E_BAD_DER;
    }
    return utc_from_tm(&tm, ret) == DGA_E_OK ? DGA_E_OK : DGA_E_BAD_DER;
}
