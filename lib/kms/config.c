/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth-simple's configuration file (docs/kms.md, Configuration): the same
 * keys, types and defaults as its schema, with these deliberate differences:
 * duplicate keys, nulls and two apps keys that name one app are refused (the
 * caller then denies everything instead of guessing), and the gpu sections,
 * which are ours, are strict (an unknown key there is a mistake, not a key
 * of some other version).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "dga/util.h"
#include "kms/internal.h"

#define ZERO_ADDRESS "0x0000000000000000000000000000000000000000"

struct parse {
    struct dga_diag *diag;
    char *msg;
    size_t msg_len;
    struct dga_kms_config *c; /* for the ignored keys */
};

__attribute__((format(printf, 3, 4))) static dga_err fail(struct parse *p, const char *field,
                                                          const char *fmt, ...)
{
    if (p->msg != NULL && p->msg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->msg, p->msg_len, fmt, ap);
        va_end(ap);
    }
    return dga_diag_set(p->diag, DGA_E_KMS_CONFIG, 0, field);
}

/* ---- hex normalisation (shared with the decision) -------------------------------------- */

char *kms_hex_norm(const char *s, size_t len)
{
    size_t skip = len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 2 : 0;
    char *out = malloc(len - skip + 1);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = skip; i < len; i++) {
        char ch = s[i];
        out[i - skip] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    out[len - skip] = '\0';
    return out;
}

static char lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

bool kms_hex_eq(const char *norm, const char *s)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    for (; *norm != '\0' && *s != '\0'; norm++, s++) {
        if (*norm != lower(*s)) {
            return false;
        }
    }
    return *norm == *s;
}

bool kms_hex_listed(const struct dga_kms_strings *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (kms_hex_eq(l->v[i], s)) {
            return true;
        }
    }
    return false;
}

bool kms_listed(const struct dga_kms_strings *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- values -------------------------------------------------------------------------------- */

static void strings_clear(struct dga_kms_strings *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    *l = (struct dga_kms_strings){0};
}

/* Notes a key auth-simple would ignore, for the log (as many as fit). */
static void ignore(struct parse *p, const char *where, const char *key)
{
    size_t used = strlen(p->c->ignored);
    size_t room = sizeof p->c->ignored - used;
    int n = snprintf(p->c->ignored + used, room, "%s%s%s", used > 0 ? ", " : "", where, key);
    if (n < 0 || (size_t)n >= room) {
        p->c->ignored[used] = '\0'; /* keep whole names only */
    }
}

static void ignore_unknown(struct parse *p, json_t *o, const char *where, const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] != NULL && !found; i++) {
            found = strcmp(k, known[i]) == 0;
        }
        if (!found) {
            ignore(p, where, k);
        }
    }
}

/* An optional string member, copied (dflt when absent). */
static dga_err take_string(struct parse *p, json_t *o, const char *key, const char *dflt,
                           char **ret)
{
    json_t *v = json_object_get(o, key);
    if (v != NULL && !json_is_string(v)) {
        return fail(p, key, "%s must be a string", key);
    }
    char *s = strdup(v != NULL ? json_string_value(v) : dflt);
    if (s == NULL) {
        return DGA_E_NOMEM;
    }
    *ret = s;
    return DGA_E_OK;
}

static dga_err take_bool(struct parse *p, json_t *o, const char *key, const char *field,
                         const char *where, bool *ret)
{
    json_t *v = json_object_get(o, key);
    if (v != NULL && !json_is_boolean(v)) {
        return fail(p, field, "%s%s must be true or false", where, key);
    }
    *ret = json_is_true(v);
    return DGA_E_OK;
}

/*
 * An optional array of strings, copied (hex: normalised); dflt (NULL-ended)
 * when absent.
 */
static dga_err take_list(struct parse *p, json_t *o, const char *key, const char *field,
                         const char *where, bool hex, const char *const *dflt,
                         struct dga_kms_strings *ret)
{
    json_t *v = json_object_get(o, key);
    if (v != NULL && !json_is_array(v)) {
        return fail(p, field, "%s%s must be an array of strings", where, key);
    }
    size_t n = 0;
    if (v != NULL) {
        n = json_array_size(v);
    } else {
        while (dflt != NULL && dflt[n] != NULL) {
            n++;
        }
    }
    struct dga_kms_strings l = {.v = calloc(n + 1, sizeof(char *))};
    if (l.v == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = v != NULL ? json_array_get(v, i) : NULL;
        if (v != NULL && !json_is_string(s)) {
            strings_clear(&l);
            return fail(p, field, "%s%s[%zu] must be a string", where, key, i);
        }
        const char *text = s != NULL ? json_string_value(s) : dflt[i];
        size_t len = s != NULL ? json_string_length(s) : strlen(text);
        l.v[i] = hex ? kms_hex_norm(text, len) : strndup(text, len);
        if (l.v[i] == NULL) {
            strings_clear(&l);
            return DGA_E_NOMEM;
        }
        l.n = i + 1;
    }
    *ret = l;
    return DGA_E_OK;
}

static dga_err take_object(struct parse *p, json_t *o, const char *key, const char *field,
                           const char *where, json_t **ret)
{
    json_t *v = json_object_get(o, key);
    if (v != NULL && !json_is_object(v)) {
        return fail(p, field, "%s%s must be an object", where, key);
    }
    *ret = v;
    return DGA_E_OK;
}

/* ---- the gpu section (ours: strict) ---------------------------------------------------- */

static dga_err take_count(struct parse *p, json_t *g, const char *key, const char *field,
                          const char *where, struct dga_cvm_count *ret)
{
    json_t *v = json_object_get(g, key);
    *ret = (struct dga_cvm_count){DGA_CVM_COUNT_ANY, 0};
    if (v == NULL) {
        return DGA_E_OK;
    }
    json_t *exact = json_object_get(v, "exact");
    json_t *min = json_object_get(v, "min");
    json_t *n = exact != NULL ? exact : min;
    if (!json_is_object(v) || json_object_size(v) != 1 || !json_is_integer(n) ||
        json_integer_value(n) < 0 || json_integer_value(n) > 1024) {
        return fail(p, field, "%sgpu.%s must be {\"exact\": N} or {\"min\": N}, N 0..1024", where,
                    key);
    }
    *ret = (struct dga_cvm_count){exact != NULL ? DGA_CVM_COUNT_EXACT : DGA_CVM_COUNT_MIN,
                                  (unsigned)json_integer_value(n)};
    return DGA_E_OK;
}

static dga_err take_policy_hashes(struct parse *p, json_t *g, const char *where,
                                  struct dga_kms_gpu_rule *r)
{
    json_t *v = json_object_get(g, "gpuPolicyHashes");
    if (v == NULL) {
        return DGA_E_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return fail(p, "gpu.gpuPolicyHashes", "%sgpu.gpuPolicyHashes must be a non-empty array",
                    where);
    }
    r->policy_hashes = calloc(json_array_size(v), 32);
    if (r->policy_hashes == NULL) {
        return DGA_E_NOMEM;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *s = json_array_get(v, i);
        _cleanup_(freep) char *norm =
            json_is_string(s) ? kms_hex_norm(json_string_value(s), json_string_length(s)) : NULL;
        if (norm == NULL && json_is_string(s)) {
            return DGA_E_NOMEM;
        }
        if (norm == NULL || strlen(norm) != 64 ||
            dga_hex_decode_exact(norm, r->policy_hashes[i], 32) != DGA_E_OK) {
            return fail(p, "gpu.gpuPolicyHashes",
                        "%sgpu.gpuPolicyHashes[%zu] must be 32 bytes of hex", where, i);
        }
        r->n_policy_hashes = i + 1;
    }
    return DGA_E_OK;
}

static dga_err take_trust_roots(struct parse *p, json_t *g, const char *where,
                                struct dga_kms_gpu_rule *r)
{
    json_t *v = json_object_get(g, "trustRoots");
    if (v == NULL) {
        r->trust_nvidia = true; /* the default: NVIDIA's roots only */
        return DGA_E_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return fail(p, "gpu.trustRoots", "%sgpu.trustRoots must be a non-empty array", where);
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (s != NULL && strcmp(s, "nvidia") == 0) {
            r->trust_nvidia = true;
        } else if (s != NULL && strcmp(s, "test") == 0) {
            r->trust_test = true;
        } else {
            return fail(p, "gpu.trustRoots", "%sgpu.trustRoots[%zu] must be \"nvidia\" or \"test\"",
                        where, i);
        }
    }
    return DGA_E_OK;
}

/* "cc" (the default: what a config without the key always meant), "ppcie" or "any". */
static dga_err take_mode(struct parse *p, json_t *g, const char *where, struct dga_kms_gpu_rule *r)
{
    static const char *const names[] = {"cc", "ppcie", "any"};
    json_t *v = json_object_get(g, "mode");
    r->mode = DGA_KMS_GPU_MODE_CC;
    if (v == NULL) {
        return DGA_E_OK;
    }
    for (size_t i = 0; json_is_string(v) && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(json_string_value(v), names[i]) == 0) {
            r->mode = (enum dga_kms_gpu_mode)i;
            return DGA_E_OK;
        }
    }
    return fail(p, "gpu.mode", "%sgpu.mode must be \"cc\", \"ppcie\" or \"any\"", where);
}

static const char *unknown_gpu_key(json_t *g)
{
    static const char *const known[] = {
        "required", "gpus", "nvswitches", "gpuPolicyHashes", "allowDevtools", "trustRoots", "mode"};
    const char *k;
    json_t *v;
    json_object_foreach(g, k, v)
    {
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0] && !found; i++) {
            found = strcmp(k, known[i]) == 0;
        }
        if (!found) {
            return k;
        }
    }
    return NULL;
}

static bool asks_for_gpus(const struct dga_cvm_count *c)
{
    return c->kind != DGA_CVM_COUNT_ANY && c->n > 0;
}

static dga_err gpu_fields(struct parse *p, json_t *g, const char *where, struct dga_kms_gpu_rule *r)
{
    const char *unknown = unknown_gpu_key(g);
    if (unknown != NULL) {
        return fail(p, "gpu", "%sgpu.%s is not a key of a gpu section", where, unknown);
    }
    dga_err e = take_bool(p, g, "required", "gpu.required", where, &r->required);
    if (e == DGA_E_OK) {
        e = take_count(p, g, "gpus", "gpu.gpus", where, &r->gpus);
    }
    if (e == DGA_E_OK) {
        e = take_count(p, g, "nvswitches", "gpu.nvswitches", where, &r->nvswitches);
    }
    if (e == DGA_E_OK) {
        e = take_policy_hashes(p, g, where, r);
    }
    if (e == DGA_E_OK) {
        e = take_bool(p, g, "allowDevtools", "gpu.allowDevtools", where, &r->allow_devtools);
    }
    if (e == DGA_E_OK) {
        e = take_trust_roots(p, g, where, r);
    }
    if (e == DGA_E_OK) {
        e = take_mode(p, g, where, r);
    }
    if (e == DGA_E_OK && !r->required && asks_for_gpus(&r->gpus)) {
        /* a count that asks for GPUs would pass a CVM whose KMS forwarded nothing */
        return fail(p, "gpu.gpus", "%sgpu.gpus asks for GPUs but gpu.required is not true", where);
    }
    return e;
}

static void gpu_rule_clear(struct dga_kms_gpu_rule *r)
{
    free(r->policy_hashes);
    *r = (struct dga_kms_gpu_rule){0};
}

static dga_err take_gpu(struct parse *p, json_t *o, const char *where, struct dga_kms_gpu_rule *ret)
{
    json_t *g = NULL;
    dga_err e = take_object(p, o, "gpu", "gpu", where, &g);
    if (e != DGA_E_OK || g == NULL) {
        return e;
    }
    struct dga_kms_gpu_rule r = {.present = true};
    e = gpu_fields(p, g, where, &r);
    if (e != DGA_E_OK) {
        gpu_rule_clear(&r);
        return e;
    }
    *ret = r;
    return DGA_E_OK;
}

/* ---- kms and apps ------------------------------------------------------------------------ */

static dga_err take_devices(struct parse *p, json_t *o, bool kms, const char *where,
                            struct dga_kms_device_rule *ret)
{
    dga_err e = take_list(p, o, "devices", kms ? "kms.devices" : "apps.devices", where, true, NULL,
                          &ret->devices);
    if (e != DGA_E_OK) {
        return e;
    }
    return take_bool(p, o, "allowAnyDevice", kms ? "kms.allowAnyDevice" : "apps.allowAnyDevice",
                     where, &ret->allow_any);
}

static dga_err parse_kms(struct parse *p, json_t *root, struct dga_kms_config *c)
{
    static const char *const known[] = {"mrAggregated", "devices", "allowAnyDevice", "gpu", NULL};
    json_t *k = NULL;
    dga_err e = take_object(p, root, "kms", "kms", "", &k);
    if (e != DGA_E_OK) {
        return e;
    }
    e = take_list(p, k, "mrAggregated", "kms.mrAggregated", "kms.", true, NULL, &c->mr_aggregated);
    if (e == DGA_E_OK) {
        e = take_devices(p, k, true, "kms.", &c->kms_devices);
    }
    if (e == DGA_E_OK) {
        e = take_gpu(p, k, "kms.", &c->kms_gpu);
    }
    if (e == DGA_E_OK && k != NULL) {
        ignore_unknown(p, k, "kms.", known);
    }
    return e;
}

/* A key as it may appear in a reason and a log line: printable ASCII, the rest '?'. */
static void printable(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < n; i++) {
        out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '?';
    }
    out[i] = '\0';
}

static dga_err parse_app(struct parse *p, const char *id, json_t *a, struct dga_kms_app *ret)
{
    static const char *const known[] = {"composeHashes", "devices", "allowAnyDevice", "gpu", NULL};
    char shown[97];
    printable(id, shown, sizeof shown);
    char where[128];
    snprintf(where, sizeof where, "apps[\"%s\"].", shown);
    if (!json_is_object(a)) {
        return fail(p, "apps", "%s must be an object", where);
    }
    dga_err e = take_list(p, a, "composeHashes", "apps.composeHashes", where, true, NULL,
                          &ret->compose_hashes);
    if (e == DGA_E_OK) {
        e = take_devices(p, a, false, where, &ret->devices);
    }
    if (e == DGA_E_OK) {
        e = take_gpu(p, a, where, &ret->gpu);
    }
    if (e == DGA_E_OK) {
        ignore_unknown(p, a, where, known);
    }
    return e;
}

static dga_err parse_apps(struct parse *p, json_t *root, struct dga_kms_config *c)
{
    json_t *apps = NULL;
    dga_err e = take_object(p, root, "apps", "apps", "", &apps);
    if (e != DGA_E_OK || apps == NULL) {
        return e;
    }
    c->apps = calloc(json_object_size(apps) + 1, sizeof *c->apps);
    if (c->apps == NULL) {
        return DGA_E_NOMEM;
    }
    const char *id;
    json_t *a;
    json_object_foreach(apps, id, a)
    {
        struct dga_kms_app *app = &c->apps[c->n_apps];
        app->id = kms_hex_norm(id, strlen(id));
        if (app->id == NULL) {
            return DGA_E_NOMEM;
        }
        c->n_apps++;
        for (size_t i = 0; i + 1 < c->n_apps; i++) {
            if (strcmp(c->apps[i].id, app->id) == 0) {
                /* auth-simple would take whichever comes first; we refuse to guess */
                char shown[97];
                printable(id, shown, sizeof shown);
                return fail(p, "apps", "apps[\"%s\"] names the same app as another key", shown);
            }
        }
        e = parse_app(p, id, a, app);
        if (e != DGA_E_OK) {
            return e;
        }
    }
    return DGA_E_OK;
}

/* ---- the document ------------------------------------------------------------------------- */

static dga_err parse_top(struct parse *p, json_t *root, struct dga_kms_config *c)
{
    static const char *const tcb_default[] = {"UpToDate", NULL};
    static const char *const known[] = {"gatewayAppId",
                                        "kmsContractAddr",
                                        "chainId",
                                        "appImplementation",
                                        "osImages",
                                        "allowedTcbStatuses",
                                        "allowedAdvisoryIds",
                                        "kms",
                                        "apps",
                                        NULL};
    dga_err e = take_string(p, root, "gatewayAppId", "", &c->gateway_app_id);
    if (e == DGA_E_OK) {
        e = take_string(p, root, "kmsContractAddr", ZERO_ADDRESS, &c->kms_contract_addr);
    }
    if (e == DGA_E_OK) {
        e = take_string(p, root, "appImplementation", ZERO_ADDRESS, &c->app_implementation);
    }
    json_t *chain = json_object_get(root, "chainId");
    if (e == DGA_E_OK && chain != NULL && !json_is_number(chain)) {
        return fail(p, "chainId", "chainId must be a number");
    }
    if (e == DGA_E_OK) {
        c->chain_id = chain != NULL ? json_deep_copy(chain) : json_integer(0);
        e = c->chain_id != NULL ? DGA_E_OK : DGA_E_NOMEM;
    }
    if (e == DGA_E_OK) {
        e = take_list(p, root, "osImages", "osImages", "", true, NULL, &c->os_images);
    }
    if (e == DGA_E_OK) {
        e = take_list(p, root, "allowedTcbStatuses", "allowedTcbStatuses", "", false, tcb_default,
                      &c->tcb_statuses);
    }
    if (e == DGA_E_OK) {
        e = take_list(p, root, "allowedAdvisoryIds", "allowedAdvisoryIds", "", false, NULL,
                      &c->advisory_ids);
    }
    if (e == DGA_E_OK) {
        e = parse_kms(p, root, c);
    }
    if (e == DGA_E_OK) {
        e = parse_apps(p, root, c);
    }
    if (e == DGA_E_OK) {
        ignore_unknown(p, root, "", known);
    }
    return e;
}

dga_err dga_kms_config_parse(const char *text, size_t len, struct dga_kms_config *ret,
                             struct dga_diag *diag, char *msg, size_t msg_len)
{
    struct dga_kms_config c = {0};
    struct parse p = {.diag = diag, .msg = msg, .msg_len = msg_len, .c = &c};
    if (text == NULL || len > DGA_KMS_CONFIG_MAX) {
        return fail(&p, "config", "the file is over %u bytes", DGA_KMS_CONFIG_MAX);
    }
    json_error_t err;
    _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        dga_err e =
            fail(&p, "config", "JSON: line %d column %d: %s", err.line, err.column, err.text);
        if (diag != NULL) {
            diag->offset = (size_t)(err.position > 0 ? err.position : 0);
        }
        return e;
    }
    if (!json_is_object(root)) {
        return fail(&p, "config", "the configuration must be a JSON object");
    }
    dga_err e = parse_top(&p, root, &c);
    if (e != DGA_E_OK) {
        dga_kms_config_clear(&c);
        return e;
    }
    *ret = c;
    return DGA_E_OK;
}

static void app_clear(struct dga_kms_app *a)
{
    free(a->id);
    strings_clear(&a->compose_hashes);
    strings_clear(&a->devices.devices);
    gpu_rule_clear(&a->gpu);
}

void dga_kms_config_clear(struct dga_kms_config *c)
{
    if (c == NULL) {
        return;
    }
    free(c->gateway_app_id);
    free(c->kms_contract_addr);
    json_decref(c->chain_id);
    free(c->app_implementation);
    strings_clear(&c->os_images);
    strings_clear(&c->tcb_statuses);
    strings_clear(&c->advisory_ids);
    strings_clear(&c->mr_aggregated);
    strings_clear(&c->kms_devices.devices);
    gpu_rule_clear(&c->kms_gpu);
    for (size_t i = 0; i < c->n_apps; i++) {
        app_clear(&c->apps[i]);
    }
    free(c->apps);
    *c = (struct dga_kms_config){0};
}
