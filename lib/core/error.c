/* SPDX-License-Identifier: Apache-2.0 */
#include "dga/error.h"

static const char *const error_names[DGA_E__COUNT] = {
#define DGA_X_NAME(id, name, msg) [DGA_E_##id] = name,
    DGA_ERROR_TABLE(DGA_X_NAME)
#undef DGA_X_NAME
};

static const char *const error_messages[DGA_E__COUNT] = {
#define DGA_X_MSG(id, name, msg) [DGA_E_##id] = msg,
    DGA_ERROR_TABLE(DGA_X_MSG)
#undef DGA_X_MSG
};

const char *dga_err_name(dga_err e)
{
    if ((unsigned)e >= DGA_E__COUNT) {
        return "unknown-error";
    }
    return error_names[e];
}

const char *dga_err_message(dga_err e)
{
    if ((unsigned)e >= DGA_E__COUNT) {
        return "unknown error";
    }
    return error_messages[e];
}

dga_err dga_diag_set(struct dga_diag *d, dga_err e, size_t offset, const char *field)
{
    if (d != NULL) {
        d->err = e;
        d->offset = offset;
        d->field = field != NULL ? field : "";
    }
    return e;
}
