/* SPDX-License-Identifier: Apache-2.0 */
/* libxml2 on first use: dlopen once, resolve, xmlInitParser (rim/xml_api.h). */
#include <stdio.h>

#include "rim/xml_api.h"

#include "core/dynlib.h"

static struct dynlib lib = DYNLIB_INIT(DGA_LIBXML2_FILE, DGA_LIBXML2_TEST_ENV);
static struct xml_api api;
const struct xml_api *rim_xml_api;

static const struct dynlib_sym syms[] = {
#define XML_API_SYM(member, fn) DYNLIB_SYM(struct xml_api, member, fn),
    XML_API_FUNCTIONS(XML_API_SYM)
#undef XML_API_SYM
};

static void load(void)
{
    bool ok = dynlib_open(&lib) && dynlib_resolve_all(&lib, &api, syms, DYNLIB_N(syms), NULL);
    const xmlFreeFunc *free_var = ok ? dynlib_sym(&lib, "xmlFree") : NULL;
    if (free_var == NULL || *free_var == NULL) {
        if (ok && free_var != NULL) {
            lib.err = DGA_E_RUNTIME_LIBRARY;
            snprintf(lib.failure, sizeof lib.failure, "%s: xmlFree is NULL", lib.file);
        }
        return;
    }
    api.free = *free_var;
    /* Once, before any thread parses: xmlInitParser sets up libxml2's globals. */
    api.init_parser();
    rim_xml_api = &api;
}

dga_err xml_api_load(const struct xml_api **ret, struct dga_diag *diag)
{
    dga_err e = dynlib_load(&lib, load, diag);
    if (e == DGA_E_OK && ret != NULL) {
        *ret = &api;
    }
    return e;
}
