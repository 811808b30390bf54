/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification of one request: dga_cvm_run with the server's collateral
 * source and its cache of parsed collateral (cache.c) plugged in as the
 * run's dga_cvm_collateral_cache, so the pipeline is lib/cvm's alone.
 */
#include "verifier/internal.h"

static dga_err cache_get(void *ctx, const char *text, size_t len,
                         const struct dga_quote_collateral **ret, void **ret_handle,
                         struct dga_diag *diag)
{
    struct coll_entry *entry = NULL;
    dga_err e = coll_cache_get(ctx, text, len, ret, &entry, diag);
    *ret_handle = entry;
    return e;
}

static void cache_put(void *ctx, void *handle)
{
    (void)ctx;
    coll_entry_put(handle);
}

static struct dga_cvm_collateral source_of(const struct dga_verifier *v)
{
    if (v->cfg.pccs_url[0] != '\0') {
        return (struct dga_cvm_collateral){.kind = DGA_CVM_COLLATERAL_PCCS,
                                           .pccs_url = v->cfg.pccs_url};
    }
    if (v->cfg.collateral_dir[0] != '\0') {
        return (struct dga_cvm_collateral){.kind = DGA_CVM_COLLATERAL_DIR,
                                           .dir = v->cfg.collateral_dir};
    }
    return (struct dga_cvm_collateral){
        .kind = DGA_CVM_COLLATERAL_JSON, .json = v->collateral, .json_len = v->collateral_len};
}

dga_err verifier_run(struct dga_verifier *v, const struct dga_cvm_input *in, time_t at,
                     struct dga_cvm_run *ret, struct dga_diag *diag)
{
    struct dga_cvm_options opt = {.at = at};
    if (v->reappraiser != NULL) {
        opt.reappraise = dga_cvm_reappraise;
        opt.reappraise_ctx = v->reappraiser;
    }
    const struct dga_cvm_collateral_cache cache = {
        .get = cache_get, .put = cache_put, .ctx = v->cache};
    const struct dga_cvm_run_params p = {
        .in = in,
        .bundle = in->gpu_bundle,
        .bundle_len = in->gpu_bundle_len,
        .x = &v->x,
        .collateral = source_of(v),
        .root = v->has_root ? &v->root : NULL,
        .root_name = v->has_root ? v->cfg.test_trusted_root : NULL,
        .cache = &cache,
        .opt = &opt,
    };
    return dga_cvm_run(&p, ret, diag);
}
