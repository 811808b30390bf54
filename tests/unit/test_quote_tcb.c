/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TDX collateral and TCB policy pieces of lib/quote (docs/quote.md,
 * Collateral and TCB status): the three real QuoteCollateralV3 files of
 * tests/fixtures/tdx with their exact values; the status merge and names;
 * the canonical level sort; platform, TDX module and QE identity matching on
 * the real levels with each sample's PCK values; the TD attribute rules; and
 * every parser error with its key path, on small JSON templates.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dga/quote.h"
#include "dga/util.h"

/* ------------------------------------------------------------ helpers */

static void load_collateral(const char *rel, struct dga_quote_collateral *c)
{
    size_t len = 0;
    uint8_t *text = fixture_read(rel, &len);
    struct dga_diag d = {0};
    assert_int_equal(dga_quote_collateral_parse((const char *)text, len, c, &d), DGA_E_OK);
    free(text);
}

static void load_tcb_info(const char *rel, struct dga_tcb_info *t)
{
    struct dga_quote_collateral c;
    load_collateral(rel, &c);
    assert_int_equal(dga_tcb_info_parse(c.tcb_info, c.tcb_info_len, t, NULL), DGA_E_OK);
    dga_quote_collateral_clear(&c);
}

static void load_qe_identity(const char *rel, struct dga_qe_identity *q)
{
    struct dga_quote_collateral c;
    load_collateral(rel, &c);
    assert_int_equal(dga_qe_identity_parse(c.qe_identity, c.qe_identity_len, q, NULL), DGA_E_OK);
    dga_quote_collateral_clear(&c);
}

static void hex(const char *text, uint8_t *out, size_t n)
{
    assert_int_equal(dga_hex_decode_exact(text, out, n), DGA_E_OK);
}

static void assert_svns(const uint8_t *have, size_t n_have, const uint8_t *want, size_t n_want)
{
    assert_int_equal(n_have, n_want);
    assert_memory_equal(have, want, n_want);
}

static void assert_result(const struct dga_tcb_result *r, enum dga_tcb_status status, size_t n_ids,
                          const char *first, const char *last)
{
    assert_int_equal(r->status, status);
    assert_int_equal(r->n_advisories, n_ids);
    if (n_ids > 0) {
        assert_string_equal(r->advisory_ids[0], first);
        assert_string_equal(r->advisory_ids[n_ids - 1], last);
    }
}

static const uint8_t SGX_B0[16] = {2, 2, 2, 2, 3, 1, 0, 5};
static const uint8_t TDX_502[16] = {5, 0, 2};

/* ------------------------------------------------------------ real collateral */

static void test_real_collateral_members(void **state)
{
    (void)state;
    struct dga_quote_collateral c;
    load_collateral("tdx/tdx_quote_collateral.json", &c);
    assert_int_equal(c.root_ca_crl_len, 292);
    assert_int_equal(c.pck_crl_len, 2663);
    assert_int_equal(c.root_ca_crl[0], 0x30);
    assert_int_equal(c.pck_crl[0], 0x30);
    assert_int_equal(c.tcb_info_len, 2934);
    assert_int_equal(strlen(c.tcb_info), 2934);
    assert_int_equal(c.qe_identity_len, 461);
    assert_int_equal(strlen(c.pck_crl_issuer_chain), 1904);
    assert_int_equal(strlen(c.tcb_info_issuer_chain), 1892);
    assert_string_equal(c.tcb_info_issuer_chain, c.qe_identity_issuer_chain);
    assert_memory_equal(c.tcb_info, "{\"id\":\"TDX\",\"version\":3,", 24);
    assert_null(c.pck_certificate_chain);
    dga_quote_collateral_clear(&c);
    assert_null(c.tcb_info);
    assert_int_equal(c.pck_crl_len, 0);
    dga_quote_collateral_clear(NULL);

    load_collateral("tdx/tdx_quote_outdated_collateral.json", &c);
    assert_int_equal(c.root_ca_crl_len, 292);
    assert_int_equal(c.pck_crl_len, 3355);
    assert_int_equal(c.tcb_info_len, 4113);
    assert_int_equal(c.qe_identity_len, 461);
    dga_quote_collateral_clear(&c);

    load_collateral("tdx/near_quote_collateral.json", &c);
    assert_int_equal(c.root_ca_crl_len, 292);
    assert_int_equal(c.pck_crl_len, 2663);
    assert_int_equal(c.tcb_info_len, 2684);
    dga_quote_collateral_clear(&c);
}

static void assert_module_block(const struct dga_tcb_info *t)
{
    static const uint8_t zero48[48] = {0};
    static const uint8_t ff8[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero8[8] = {0};
    assert_true(t->has_tdx_module);
    assert_memory_equal(t->module_mrsigner, zero48, 48);
    assert_memory_equal(t->module_attributes, zero8, 8);
    assert_memory_equal(t->module_attributes_mask, ff8, 8);
    assert_int_equal(t->n_module_identities, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_memory_equal(t->module_identities[i].mrsigner, zero48, 48);
        assert_memory_equal(t->module_identities[i].attributes_mask, ff8, 8);
    }
}

static void test_real_tcb_info(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    load_tcb_info("tdx/tdx_quote_collateral.json", &t);
    uint8_t fmspc[6];
    hex("B0C06F000000", fmspc, 6);
    assert_string_equal(t.id, "TDX");
    assert_int_equal(t.version, 3);
    assert_int_equal(t.issue_date, 1750328163);  /* 2025-06-19T10:16:03Z */
    assert_int_equal(t.next_update, 1752920163); /* 2025-07-19T10:16:03Z */
    assert_memory_equal(t.fmspc, fmspc, 6);
    assert_int_equal(t.pce_id[0] | t.pce_id[1], 0);
    assert_int_equal(t.tcb_type, 0);
    assert_int_equal(t.tcb_evaluation_data_number, 17);
    assert_module_block(&t);
    assert_string_equal(t.module_identities[0].id, "TDX_03");
    assert_int_equal(t.module_identities[0].n_levels, 1);
    assert_int_equal(t.module_identities[0].levels[0].isv_svn, 3);
    assert_string_equal(t.module_identities[1].id, "TDX_01");
    assert_int_equal(t.module_identities[1].n_levels, 2);
    assert_int_equal(t.module_identities[1].levels[0].isv_svn, 4);
    assert_result(&t.module_identities[1].levels[0].result, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    assert_int_equal(t.module_identities[1].levels[1].isv_svn, 2);
    assert_result(&t.module_identities[1].levels[1].result, DGA_TCB_OUT_OF_DATE, 0, NULL, NULL);
    assert_int_equal(t.n_levels, 2);
    assert_svns(t.levels[0].sgx_svn, t.levels[0].n_sgx, SGX_B0, 16);
    assert_svns(t.levels[0].tdx_svn, t.levels[0].n_tdx, TDX_502, 16);
    assert_int_equal(t.levels[0].pce_svn, 11);
    assert_result(&t.levels[0].result, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    assert_svns(t.levels[1].sgx_svn, t.levels[1].n_sgx, SGX_B0, 16);
    assert_int_equal(t.levels[1].pce_svn, 5);
    assert_result(&t.levels[1].result, DGA_TCB_OUT_OF_DATE, 14, "INTEL-SA-00106", "INTEL-SA-00837");
    assert_string_equal(t.levels[1].result.advisory_ids[12], "INTEL-SA-00477");
    dga_tcb_info_clear(&t);
    assert_null(t.levels);
    dga_tcb_info_clear(NULL);
}

static void test_real_tcb_info_outdated(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    load_tcb_info("tdx/tdx_quote_outdated_collateral.json", &t);
    uint8_t fmspc[6];
    hex("90C06F000000", fmspc, 6);
    static const uint8_t sgx0[16] = {3, 3, 2, 2, 4, 1, 0, 5};
    static const uint8_t tdx0[16] = {5, 0, 3};
    assert_memory_equal(t.fmspc, fmspc, 6);
    assert_int_equal(t.issue_date, 1771412331);  /* 2026-02-18T10:58:51Z */
    assert_int_equal(t.next_update, 1774004331); /* 2026-03-20T10:58:51Z */
    assert_int_equal(t.tcb_evaluation_data_number, 18);
    assert_module_block(&t);
    const struct dga_tdx_module_identity *m = &t.module_identities[1];
    assert_string_equal(m->id, "TDX_01");
    assert_int_equal(m->n_levels, 3);
    assert_int_equal(m->levels[0].isv_svn, 6);
    assert_result(&m->levels[0].result, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    assert_int_equal(m->levels[1].isv_svn, 4);
    assert_result(&m->levels[1].result, DGA_TCB_OUT_OF_DATE, 2, "INTEL-SA-01036", "INTEL-SA-01099");
    assert_int_equal(m->levels[2].isv_svn, 2);
    assert_result(&m->levels[2].result, DGA_TCB_OUT_OF_DATE, 2, "INTEL-SA-01036", "INTEL-SA-01099");
    assert_int_equal(t.n_levels, 3);
    assert_svns(t.levels[0].sgx_svn, t.levels[0].n_sgx, sgx0, 16);
    assert_svns(t.levels[0].tdx_svn, t.levels[0].n_tdx, tdx0, 16);
    assert_int_equal(t.levels[0].pce_svn, 13);
    assert_result(&t.levels[0].result, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    assert_svns(t.levels[1].sgx_svn, t.levels[1].n_sgx, SGX_B0, 16);
    assert_svns(t.levels[1].tdx_svn, t.levels[1].n_tdx, TDX_502, 16);
    assert_int_equal(t.levels[1].pce_svn, 13);
    assert_result(&t.levels[1].result, DGA_TCB_OUT_OF_DATE, 5, "INTEL-SA-01036", "INTEL-SA-01111");
    assert_int_equal(t.levels[2].pce_svn, 5);
    assert_result(&t.levels[2].result, DGA_TCB_OUT_OF_DATE, 19, "INTEL-SA-00106", "INTEL-SA-01111");
    dga_tcb_info_clear(&t);
}

static void test_real_tcb_info_near(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    load_tcb_info("tdx/near_quote_collateral.json", &t);
    static const uint8_t fmspc[6] = {0x20, 0xa0, 0x6f, 0, 0, 0}; /* written lowercase */
    static const uint8_t sgx[16] = {2, 2, 2, 2, 2, 255, 0, 2};
    assert_memory_equal(t.fmspc, fmspc, 6);
    assert_int_equal(t.issue_date, 1756798919);
    assert_int_equal(t.next_update, 1759390919);
    assert_int_equal(t.n_levels, 2);
    assert_svns(t.levels[0].sgx_svn, t.levels[0].n_sgx, sgx, 16);
    assert_int_equal(t.levels[0].pce_svn, 13);
    assert_int_equal(t.levels[1].pce_svn, 5);
    assert_result(&t.levels[1].result, DGA_TCB_OUT_OF_DATE, 0, NULL, NULL);
    dga_tcb_info_clear(&t);
}

static void test_real_qe_identity(void **state)
{
    (void)state;
    struct dga_qe_identity q;
    uint8_t mrsigner[32], attrs[16], mask[16];
    hex("DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5", mrsigner, 32);
    hex("11000000000000000000000000000000", attrs, 16);
    hex("FBFFFFFFFFFFFFFF0000000000000000", mask, 16);
    static const uint8_t misc[4] = {0}, misc_mask[4] = {0xff, 0xff, 0xff, 0xff};
    const char *files[] = {"tdx/tdx_quote_collateral.json",
                           "tdx/tdx_quote_outdated_collateral.json",
                           "tdx/near_quote_collateral.json"};
    const time_t issue[] = {1750329147, 1771411335, 0};
    for (size_t i = 0; i < 3; i++) {
        load_qe_identity(files[i], &q);
        assert_string_equal(q.id, "TD_QE");
        assert_int_equal(q.version, 2);
        if (issue[i] != 0) {
            assert_int_equal(q.issue_date, issue[i]);
            assert_int_equal(q.next_update - q.issue_date, 30 * 86400);
        }
        assert_int_equal(q.tcb_evaluation_data_number, i == 1 ? 18 : 17);
        assert_memory_equal(q.miscselect, misc, 4);
        assert_memory_equal(q.miscselect_mask, misc_mask, 4);
        assert_memory_equal(q.attributes, attrs, 16);
        assert_memory_equal(q.attributes_mask, mask, 16);
        assert_memory_equal(q.mrsigner, mrsigner, 32);
        assert_int_equal(q.isv_prod_id, 2);
        assert_int_equal(q.n_levels, 1);
        assert_int_equal(q.levels[0].isv_svn, 4);
        assert_result(&q.levels[0].result, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
        dga_qe_identity_clear(&q);
    }
    assert_null(q.levels);
    dga_qe_identity_clear(NULL);
}

/* ------------------------------------------------------------ statuses and merge */

static struct dga_tcb_result result(enum dga_tcb_status s, const char *a, const char *b)
{
    struct dga_tcb_result r;
    memset(&r, 0, sizeof r);
    r.status = s;
    if (a != NULL) {
        snprintf(r.advisory_ids[r.n_advisories++], DGA_TCB_ADVISORY_LEN, "%s", a);
    }
    if (b != NULL) {
        snprintf(r.advisory_ids[r.n_advisories++], DGA_TCB_ADVISORY_LEN, "%s", b);
    }
    return r;
}

static void test_status_names(void **state)
{
    (void)state;
    const char *names[] = {"UpToDate",
                           "SWHardeningNeeded",
                           "ConfigurationNeeded",
                           "ConfigurationAndSWHardeningNeeded",
                           "OutOfDate",
                           "OutOfDateConfigurationNeeded",
                           "Revoked"};
    for (size_t i = 0; i < 7; i++) {
        enum dga_tcb_status s;
        assert_string_equal(dga_tcb_status_name((enum dga_tcb_status)i), names[i]);
        assert_int_equal(dga_tcb_status_from_name(names[i], &s), DGA_E_OK);
        assert_int_equal(s, i);
    }
    enum dga_tcb_status s = DGA_TCB_REVOKED;
    assert_int_equal(dga_tcb_status_from_name("uptodate", &s), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_tcb_status_from_name("UpToDate ", &s), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_tcb_status_from_name(NULL, &s), DGA_E_BAD_ARGUMENT);
    assert_int_equal(s, DGA_TCB_REVOKED);
    assert_string_equal(dga_tcb_status_name((enum dga_tcb_status)7), "invalid");
}

static void test_merge(void **state)
{
    (void)state;
    /* dcap-qvl src/tcb_info.rs merge tests. */
    struct dga_tcb_result l = result(DGA_TCB_OUT_OF_DATE, "SA-1", NULL);
    struct dga_tcb_result r = result(DGA_TCB_SW_HARDENING_NEEDED, "SA-2", NULL);
    assert_int_equal(dga_tcb_result_merge(&l, &r), DGA_E_OK);
    assert_result(&l, DGA_TCB_OUT_OF_DATE, 2, "SA-1", "SA-2");
    l = result(DGA_TCB_OUT_OF_DATE, "SA-1", NULL);
    r = result(DGA_TCB_OUT_OF_DATE, "SA-1", NULL);
    assert_int_equal(dga_tcb_result_merge(&l, &r), DGA_E_OK);
    assert_result(&l, DGA_TCB_OUT_OF_DATE, 1, "SA-1", "SA-1");
    /* The worse status wins from either side; ids keep left order then new right ones. */
    l = result(DGA_TCB_UP_TO_DATE, "B", "A");
    r = result(DGA_TCB_REVOKED, "A", "C");
    assert_int_equal(dga_tcb_result_merge(&l, &r), DGA_E_OK);
    assert_result(&l, DGA_TCB_REVOKED, 3, "B", "C");
    assert_string_equal(l.advisory_ids[1], "A");
    /* The SGX sample's final merge: platform level with the QE's UpToDate. */
    l = result(DGA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, "INTEL-SA-00289", "INTEL-SA-00615");
    r = result(DGA_TCB_UP_TO_DATE, NULL, NULL);
    assert_int_equal(dga_tcb_result_merge(&l, &r), DGA_E_OK);
    assert_result(&l, DGA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, 2, "INTEL-SA-00289",
                  "INTEL-SA-00615");
    /* Past the limit: TOO_LARGE, left untouched; a repeated right id counts once. */
    memset(&l, 0, sizeof l);
    for (size_t i = 0; i < DGA_TCB_ADVISORY_MAX - 1; i++) {
        snprintf(l.advisory_ids[l.n_advisories++], DGA_TCB_ADVISORY_LEN, "L-%zu", i);
    }
    r = result(DGA_TCB_REVOKED, "X", "X");
    struct dga_tcb_result before = l;
    assert_int_equal(dga_tcb_result_merge(&l, &r), DGA_E_OK);
    assert_int_equal(l.n_advisories, DGA_TCB_ADVISORY_MAX);
    l = before;
    r = result(DGA_TCB_REVOKED, "X", "Y");
    assert_int_equal(dga_tcb_result_merge(&l, &r), DGA_E_TOO_LARGE);
    assert_memory_equal(&l, &before, sizeof l);
    assert_int_equal(dga_tcb_result_merge(NULL, &r), DGA_E_BAD_ARGUMENT);
}

/*
 * Intel's convergence table (QVL convergeTcbStatusWithQeTcbStatus and
 * convergeTcbStatusWithTdxModuleStatus) over every platform status and the
 * statuses a QE or module level has (UpToDate, OutOfDate, Revoked).
 */
static void test_converge(void **state)
{
    (void)state;
    enum {
        U = DGA_TCB_UP_TO_DATE,
        S = DGA_TCB_SW_HARDENING_NEEDED,
        C = DGA_TCB_CONFIGURATION_NEEDED,
        CS = DGA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
        O = DGA_TCB_OUT_OF_DATE,
        OC = DGA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
        R = DGA_TCB_REVOKED
    };
    static const int platforms[] = {U, S, C, CS, O, OC, R};
    static const int others[] = {U, O, R};
    static const int want[7][3] = {
        /* other:  UpToDate OutOfDate Revoked */
        {U, O, R},   /* UpToDate */
        {S, O, R},   /* SWHardeningNeeded */
        {C, OC, R},  /* ConfigurationNeeded */
        {CS, OC, R}, /* ConfigurationAndSWHardeningNeeded */
        {O, O, R},   /* OutOfDate */
        {OC, OC, R}, /* OutOfDateConfigurationNeeded */
        {R, R, R},   /* Revoked */
    };
    for (size_t i = 0; i < 7; i++) {
        for (size_t j = 0; j < 3; j++) {
            struct dga_tcb_result l = result((enum dga_tcb_status)platforms[i], "P", NULL);
            struct dga_tcb_result r = result((enum dga_tcb_status)others[j], "Q", "P");
            assert_int_equal(dga_tcb_result_converge(&l, &r), DGA_E_OK);
            assert_string_equal(dga_tcb_status_name(l.status),
                                dga_tcb_status_name((enum dga_tcb_status)want[i][j]));
            assert_result(&l, l.status, 2, "P", "Q");
        }
    }
    struct dga_tcb_result l = result(DGA_TCB_CONFIGURATION_NEEDED, NULL, NULL);
    assert_int_equal(dga_tcb_result_converge(&l, NULL), DGA_E_BAD_ARGUMENT);
    assert_int_equal(l.status, DGA_TCB_CONFIGURATION_NEEDED);
}

/* ------------------------------------------------------------ sort */

static struct dga_tcb_level level(uint8_t sgx0, uint16_t pcesvn, uint8_t tdx0,
                                  enum dga_tcb_status tag)
{
    struct dga_tcb_level lv;
    memset(&lv, 0, sizeof lv);
    lv.n_sgx = 16;
    lv.sgx_svn[0] = sgx0;
    lv.pce_svn = pcesvn;
    lv.n_tdx = 16;
    lv.tdx_svn[0] = tdx0;
    lv.result.status = tag;
    return lv;
}

static void sort3(const char *id, unsigned version, struct dga_tcb_level a, struct dga_tcb_level b,
                  struct dga_tcb_level c, struct dga_tcb_level *out)
{
    struct dga_tcb_level levels[3] = {a, b, c};
    struct dga_tcb_info t;
    memset(&t, 0, sizeof t);
    snprintf(t.id, sizeof t.id, "%s", id);
    t.version = version;
    t.levels = levels;
    t.n_levels = 3;
    dga_tcb_levels_sort(&t);
    memcpy(out, levels, sizeof levels);
}

static void test_sort(void **state)
{
    (void)state;
    struct dga_tcb_level s[3];
    /* dcap-qvl's sort tests: SGX 2,5,3 -> 5,3,2; PCESVN 7,12,9 -> 12,9,7; TDX 1,3,2 -> 3,2,1. */
    sort3("TDX", 3, level(2, 0, 0, 0), level(5, 0, 0, 0), level(3, 0, 0, 0), s);
    assert_int_equal(s[0].sgx_svn[0], 5);
    assert_int_equal(s[1].sgx_svn[0], 3);
    assert_int_equal(s[2].sgx_svn[0], 2);
    sort3("TDX", 3, level(1, 7, 0, 0), level(1, 12, 0, 0), level(1, 9, 0, 0), s);
    assert_int_equal(s[0].pce_svn, 12);
    assert_int_equal(s[1].pce_svn, 9);
    assert_int_equal(s[2].pce_svn, 7);
    sort3("TDX", 3, level(1, 1, 1, 0), level(1, 1, 3, 0), level(1, 1, 2, 0), s);
    assert_int_equal(s[0].tdx_svn[0], 3);
    assert_int_equal(s[1].tdx_svn[0], 2);
    assert_int_equal(s[2].tdx_svn[0], 1);
    /* SGX TCB info (and TDX before version 3): the TDX components never reorder. */
    sort3("SGX", 2, level(1, 1, 1, 0), level(1, 1, 3, 1), level(1, 1, 2, 2), s);
    assert_int_equal(s[0].tdx_svn[0], 1);
    assert_int_equal(s[1].tdx_svn[0], 3);
    assert_int_equal(s[2].tdx_svn[0], 2);
    sort3("TDX", 2, level(1, 1, 1, 0), level(1, 1, 3, 1), level(1, 1, 2, 2), s);
    assert_int_equal(s[1].tdx_svn[0], 3);
    /* Stable: equal keys keep their order. */
    sort3("TDX", 3, level(4, 1, 1, 2), level(9, 1, 1, 0), level(4, 1, 1, 1), s);
    assert_int_equal(s[0].sgx_svn[0], 9);
    assert_int_equal(s[1].result.status, 2);
    assert_int_equal(s[2].result.status, 1);
    /* A shorter vector that is a prefix of a longer one sorts after it. */
    struct dga_tcb_level shorter = level(4, 1, 1, 1), longer = level(4, 1, 1, 0);
    shorter.n_sgx = 15;
    sort3("TDX", 3, shorter, longer, level(3, 1, 1, 2), s);
    assert_int_equal(s[0].n_sgx, 16);
    assert_int_equal(s[1].n_sgx, 15);
    assert_int_equal(s[2].sgx_svn[0], 3);
    dga_tcb_levels_sort(NULL);
}

/* ------------------------------------------------------------ platform level */

static struct dga_pck_ext pck(const char *fmspc, const char *cpusvn, uint16_t pcesvn)
{
    struct dga_pck_ext p;
    memset(&p, 0, sizeof p);
    hex(fmspc, p.fmspc, 6);
    hex(cpusvn, p.cpu_svn, 16);
    p.pce_svn = pcesvn;
    return p;
}

#define CPUSVN_TDX_QUOTE "03030202040100050000000000000000"
#define CPUSVN_TAPPD "02020202030100030000000000000000"
#define CPUSVN_DSTACK "04040202040100050000000000000000"
#define CPUSVN_OUTDATED "03030202040100030000000000000000"

static void test_platform_real(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    struct dga_tcb_result r = result(DGA_TCB_REVOKED, "untouched", NULL);
    const uint8_t tee_sample[16] = {6, 1, 3};
    load_tcb_info("tdx/tdx_quote_collateral.json", &t);
    dga_tcb_levels_sort(&t);
    /* sample/tdx_quote: level 0. */
    struct dga_pck_ext p = pck("B0C06F000000", CPUSVN_TDX_QUOTE, 11);
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_sample, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    /* PCESVN 10 skips level 0 and reaches the OutOfDate level. */
    p.pce_svn = 10;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_sample, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_OUT_OF_DATE, 14, "INTEL-SA-00106", "INTEL-SA-00837");
    p.pce_svn = 4;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_sample, &r), DGA_E_TCB_NO_LEVEL);
    /* The tappd / ra-tls quotes: CPUSVN byte 7 is 3 where every level needs 5. */
    r = result(DGA_TCB_REVOKED, "untouched", NULL);
    p = pck("B0C06F000000", CPUSVN_TAPPD, 11);
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_sample, &r), DGA_E_TCB_NO_LEVEL);
    assert_result(&r, DGA_TCB_REVOKED, 1, "untouched", "untouched");
    /* All 16 TEE bytes count (dcap-qvl), module bytes 0-1 included: 4 < 5 matches nothing. */
    const uint8_t tee_low_module[16] = {4, 1, 3};
    p = pck("B0C06F000000", CPUSVN_TDX_QUOTE, 11);
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_low_module, &r), DGA_E_TCB_NO_LEVEL);
    const uint8_t tee_low_late[16] = {6, 1, 1};
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_low_late, &r), DGA_E_TCB_NO_LEVEL);
    /* The NEAR collateral's FMSPC is 20A06F000000. */
    struct dga_tcb_info near;
    load_tcb_info("tdx/near_quote_collateral.json", &near);
    assert_int_equal(dga_tcb_match_platform(&near, &p, tee_sample, &r), DGA_E_FMSPC_MISMATCH);
    dga_tcb_info_clear(&near);
    /* Intel's QVL rule: the TCB info's pceId must be the PCK's PCE-ID (0000 in every vector). */
    p.pce_id[1] = 1;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_sample, &r), DGA_E_PCE_ID_MISMATCH);
    p.pce_id[1] = 0;
    /* A TDX TCB info for an SGX quote; a TDX TCB info before version 3. */
    assert_int_equal(dga_tcb_match_platform(&t, &p, NULL, &r), DGA_E_TCB_INFO_TEE);
    t.version = 2;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_sample, &r), DGA_E_TCB_INFO_TEE);
    dga_tcb_info_clear(&t);

    /* dstack's quote-report.json quote with the outdated sample's collateral: level 0. */
    load_tcb_info("tdx/tdx_quote_outdated_collateral.json", &t);
    dga_tcb_levels_sort(&t);
    const uint8_t tee_dstack[16] = {0x0b, 0x01, 0x04};
    p = pck("90C06F000000", CPUSVN_DSTACK, 13);
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_dstack, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    /* sample/tdx_quote_outdated itself: no level. */
    const uint8_t tee_outdated[16] = {7, 1, 3};
    p = pck("90C06F000000", CPUSVN_OUTDATED, 13);
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee_outdated, &r), DGA_E_TCB_NO_LEVEL);
    dga_tcb_info_clear(&t);
}

static void test_platform_components(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    struct dga_tcb_result r;
    const uint8_t tee[16] = {6, 1, 3};
    struct dga_pck_ext p = pck("B0C06F000000", CPUSVN_TDX_QUOTE, 11);
    load_tcb_info("tdx/tdx_quote_collateral.json", &t);
    t.levels[0].n_sgx = 15;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee, &r), DGA_E_TCB_COMPONENTS);
    /* The PCESVN skip comes before the count check (dcap-qvl's order). */
    p.pce_svn = 10;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee, &r), DGA_E_OK);
    assert_int_equal(r.status, DGA_TCB_OUT_OF_DATE);
    p.pce_svn = 11;
    t.levels[0].n_sgx = 16;
    t.levels[0].n_tdx = 15;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee, &r), DGA_E_TCB_COMPONENTS);
    t.levels[0].n_tdx = 0;
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee, &r), DGA_E_TCB_COMPONENTS);
    /* The CPUSVN skip comes before the TDX count check. */
    p = pck("B0C06F000000", CPUSVN_TAPPD, 11);
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee, &r), DGA_E_TCB_NO_LEVEL);
    /* An SGX TCB info (id SGX, version >= 2) for an SGX quote: no TDX components needed. */
    p = pck("B0C06F000000", CPUSVN_TDX_QUOTE, 11);
    snprintf(t.id, sizeof t.id, "SGX");
    t.version = 2;
    assert_int_equal(dga_tcb_match_platform(&t, &p, NULL, &r), DGA_E_OK);
    assert_int_equal(r.status, DGA_TCB_UP_TO_DATE);
    assert_int_equal(dga_tcb_match_platform(&t, &p, tee, &r), DGA_E_TCB_INFO_TEE);
    t.version = 1;
    assert_int_equal(dga_tcb_match_platform(&t, &p, NULL, &r), DGA_E_TCB_INFO_TEE);
    assert_int_equal(dga_tcb_match_platform(NULL, &p, NULL, &r), DGA_E_BAD_ARGUMENT);
    dga_tcb_info_clear(&t);
}

/* ------------------------------------------------------------ TDX module identity */

static struct dga_td_report td_with(uint8_t isv, uint8_t major)
{
    struct dga_td_report td;
    memset(&td, 0, sizeof td);
    td.tee_tcb_svn[0] = isv;
    td.tee_tcb_svn[1] = major;
    td.tee_tcb_svn[2] = 3;
    td.td_attributes[3] = 0x10;
    return td;
}

static void module(const struct dga_tcb_info *t, uint8_t isv, uint8_t major, dga_err want,
                   bool want_applied, enum dga_tcb_status want_status)
{
    bool applied = !want_applied;
    struct dga_tcb_result r = result(DGA_TCB_REVOKED, "untouched", NULL);
    struct dga_td_report td = td_with(isv, major);
    assert_int_equal(dga_tcb_match_tdx_module(t, &td, &applied, &r), want);
    if (want == DGA_E_OK) {
        assert_int_equal(applied, want_applied);
    }
    if (want == DGA_E_OK && want_applied) {
        assert_int_equal(r.status, want_status);
    } else {
        assert_result(&r, DGA_TCB_REVOKED, 1, "untouched", "untouched");
    }
}

static void test_module_identity(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    load_tcb_info("tdx/tdx_quote_collateral.json", &t);
    module(&t, 6, 1, DGA_E_OK, true, DGA_TCB_UP_TO_DATE); /* sample/tdx_quote: TDX_01 6 >= 4 */
    module(&t, 4, 1, DGA_E_OK, true, DGA_TCB_UP_TO_DATE);
    module(&t, 3, 1, DGA_E_OK, true, DGA_TCB_OUT_OF_DATE);
    module(&t, 1, 1, DGA_E_TDX_MODULE_ISVSVN, false, 0);
    module(&t, 3, 3, DGA_E_OK, true, DGA_TCB_UP_TO_DATE);
    module(&t, 2, 3, DGA_E_TDX_MODULE_ISVSVN, false, 0);
    module(&t, 9, 2, DGA_E_TDX_MODULE_IDENTITY, false, 0);
    module(&t, 0, 0, DGA_E_OK, false, 0); /* major 0: tdxModule only */
    /* The id is matched without case. */
    snprintf(t.module_identities[1].id, sizeof t.module_identities[1].id, "tdx_01");
    module(&t, 6, 1, DGA_E_OK, true, DGA_TCB_UP_TO_DATE);
    snprintf(t.module_identities[1].id, sizeof t.module_identities[1].id, "TDX_1");
    module(&t, 6, 1, DGA_E_TDX_MODULE_IDENTITY, false, 0);
    snprintf(t.module_identities[1].id, sizeof t.module_identities[1].id, "TDX_01");
    /* The major version 0x1a is looked up as TDX_1A. */
    snprintf(t.module_identities[0].id, sizeof t.module_identities[0].id, "TDX_1a");
    module(&t, 3, 0x1a, DGA_E_OK, true, DGA_TCB_UP_TO_DATE);
    dga_tcb_info_clear(&t);

    /* dstack's quote-report.json module: TDX_01 11 >= 6; 5 reaches the OutOfDate level. */
    load_tcb_info("tdx/tdx_quote_outdated_collateral.json", &t);
    module(&t, 11, 1, DGA_E_OK, true, DGA_TCB_UP_TO_DATE);
    struct dga_td_report td = td_with(5, 1);
    struct dga_tcb_result r;
    bool applied = false;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_OK);
    assert_true(applied);
    assert_result(&r, DGA_TCB_OUT_OF_DATE, 2, "INTEL-SA-01036", "INTEL-SA-01099");
    dga_tcb_info_clear(&t);
}

static void test_module_signer_attributes(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    load_tcb_info("tdx/tdx_quote_collateral.json", &t);
    bool applied = false;
    struct dga_tcb_result r;
    struct dga_td_report td = td_with(6, 1);
    td.mr_signer_seam[47] = 1;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_TDX_MODULE_MRSIGNER);
    td = td_with(6, 1);
    td.seam_attributes[0] = 0x01;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_TDX_MODULE_ATTRIBUTES);
    /* An unmasked bit is refused too (dcap-qvl: seam_attributes & ~mask must be 0). */
    memset(t.module_identities[1].attributes_mask, 0xff, 8);
    t.module_identities[1].attributes_mask[0] = 0xfe;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_TDX_MODULE_ATTRIBUTES);
    /* ... while a masked bit that equals the expected one passes. */
    t.module_identities[1].attributes_mask[0] = 0xff;
    t.module_identities[1].attributes[0] = 0x01;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_OK);
    assert_true(applied);
    /* Major 0 checks tdxModule's own values. */
    td = td_with(0, 0);
    td.seam_attributes[7] = 0x80;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_TDX_MODULE_ATTRIBUTES);
    /* No identities listed: tdxModule alone, nothing applied whatever the major version. */
    t.n_module_identities = 0;
    td = td_with(6, 1);
    applied = true;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_OK);
    assert_false(applied);
    t.n_module_identities = 2;
    t.has_tdx_module = false;
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_TDX_MODULE_MISSING);
    t.has_tdx_module = true;
    snprintf(t.id, sizeof t.id, "SGX");
    assert_int_equal(dga_tcb_match_tdx_module(&t, &td, &applied, &r), DGA_E_TCB_INFO_TEE);
    assert_int_equal(dga_tcb_match_tdx_module(&t, NULL, &applied, &r), DGA_E_BAD_ARGUMENT);
    dga_tcb_info_clear(&t);
}

/* ------------------------------------------------------------ QE identity */

/* sample/tdx_quote's QE report (docs/quote.md). */
static struct dga_sgx_report qe_report(uint16_t isvsvn)
{
    struct dga_sgx_report qe;
    memset(&qe, 0, sizeof qe);
    hex("DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5", qe.mr_signer, 32);
    hex("1500000000000000e700000000000000", qe.attributes, 16);
    qe.isv_prod_id = 2;
    qe.isv_svn = isvsvn;
    return qe;
}

static void test_qe_identity_real(void **state)
{
    (void)state;
    struct dga_qe_identity q;
    struct dga_tcb_result r;
    load_qe_identity("tdx/tdx_quote_collateral.json", &q);
    struct dga_sgx_report qe = qe_report(6);
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    qe.isv_svn = 3;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_ISVSVN);
    /* Each check with its own error, in dcap-qvl's order. */
    qe = qe_report(6);
    qe.mr_signer[0] ^= 1;
    qe.attributes[0] |= 0x02;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_MRSIGNER);
    qe = qe_report(6);
    qe.attributes[0] |= 0x02;
    qe.isv_prod_id = 1;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_DEBUG);
    qe = qe_report(6);
    qe.isv_prod_id = 1;
    qe.misc_select = 1;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_ISVPRODID);
    qe = qe_report(6);
    qe.misc_select = 0x80000000u;
    qe.attributes[1] = 1;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_MISCSELECT);
    qe = qe_report(6);
    qe.attributes[1] = 1;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_ATTRIBUTES);
    /* Attribute bit 0x04 of byte 0 is outside the mask FB; bytes 8-15 are unmasked. */
    qe = qe_report(6);
    qe.attributes[0] = 0x11;
    memset(qe.attributes + 8, 0xff, 8);
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    /* A MISCSELECT mask of 0 ignores any difference. */
    memset(q.miscselect_mask, 0, 4);
    qe.misc_select = 0xffffffffu;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    /* The MISCSELECT bytes are little-endian: byte 0 masks bit 0. */
    q.miscselect_mask[0] = 0x01;
    q.miscselect[0] = 0x01;
    qe.misc_select = 0x00000001u;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    qe.misc_select = 0x01000000u;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_MISCSELECT);
    dga_qe_identity_clear(&q);
}

static void test_qe_identity_tee(void **state)
{
    (void)state;
    struct dga_qe_identity q;
    struct dga_tcb_result r;
    load_qe_identity("tdx/tdx_quote_collateral.json", &q);
    struct dga_sgx_report qe = qe_report(6);
    q.version = 3;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    q.version = 4;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_IDENTITY_TEE);
    q.version = 1;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_IDENTITY_TEE);
    q.version = 2;
    assert_int_equal(dga_qe_identity_match(&q, &qe, false, &r), DGA_E_QE_IDENTITY_TEE);
    snprintf(q.id, sizeof q.id, "QE");
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_IDENTITY_TEE);
    assert_int_equal(dga_qe_identity_match(&q, &qe, false, &r), DGA_E_OK);
    q.version = 3;
    assert_int_equal(dga_qe_identity_match(&q, &qe, false, &r), DGA_E_QE_IDENTITY_TEE);
    assert_int_equal(dga_qe_identity_match(&q, NULL, false, &r), DGA_E_BAD_ARGUMENT);
    dga_qe_identity_clear(&q);
}

static const char qe_levels_json[] =
    "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"2025-06-19T10:32:27Z\","
    "\"nextUpdate\":\"2025-07-19T10:32:27Z\",\"tcbEvaluationDataNumber\":17,"
    "\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
    "\"attributes\":\"11000000000000000000000000000000\","
    "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
    "\"mrsigner\":\"DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5\","
    "\"isvprodid\":2,\"tcbLevels\":["
    "{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
    "{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2021-11-10T00:00:00Z\",\"tcbStatus\":\"OutOfDate\","
    "\"advisoryIDs\":[\"INTEL-SA-00615\"]},"
    "{\"tcb\":{\"isvsvn\":5},\"tcbDate\":\"2020-11-11T00:00:00Z\",\"tcbStatus\":\"OutOfDate\","
    "\"advisoryIDs\":[\"INTEL-SA-00477\",\"INTEL-SA-00615\"]}]}";

static void test_qe_identity_levels(void **state)
{
    (void)state;
    /* dcap-qvl src/verify.rs: levels 8, 6, 5 walked in JSON order. */
    struct dga_qe_identity q;
    struct dga_tcb_result r;
    assert_int_equal(dga_qe_identity_parse(qe_levels_json, strlen(qe_levels_json), &q, NULL),
                     DGA_E_OK);
    assert_int_equal(q.n_levels, 3);
    struct dga_sgx_report qe = qe_report(8);
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    qe.isv_svn = 10;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_UP_TO_DATE, 0, NULL, NULL);
    qe.isv_svn = 7;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_OUT_OF_DATE, 1, "INTEL-SA-00615", "INTEL-SA-00615");
    qe.isv_svn = 6;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_OUT_OF_DATE, 1, "INTEL-SA-00615", "INTEL-SA-00615");
    qe.isv_svn = 5;
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_OK);
    assert_result(&r, DGA_TCB_OUT_OF_DATE, 2, "INTEL-SA-00477", "INTEL-SA-00615");
    qe.isv_svn = 4;
    r = result(DGA_TCB_REVOKED, "untouched", NULL);
    assert_int_equal(dga_qe_identity_match(&q, &qe, true, &r), DGA_E_QE_ISVSVN);
    assert_result(&r, DGA_TCB_REVOKED, 1, "untouched", "untouched");
    dga_qe_identity_clear(&q);
}

/* ------------------------------------------------------------ TD attributes */

static dga_err td_attrs(const char *attrs_hex, bool allow_debug)
{
    struct dga_quote q;
    memset(&q, 0, sizeof q);
    q.body = DGA_QUOTE_BODY_IS_TD10;
    hex(attrs_hex, q.td.td_attributes, 8);
    return dga_td_attributes_check(&q, allow_debug, false);
}

static void test_td_attributes(void **state)
{
    (void)state;
    assert_int_equal(td_attrs("0000001000000000", false), DGA_E_OK); /* every sample */
    /* dcap-qvl: DEBUG unless allow_debug; bit 1 is reserved even with allow_debug. */
    assert_int_equal(td_attrs("0100001000000000", false), DGA_E_TD_DEBUG);
    assert_int_equal(td_attrs("0100001000000000", true), DGA_E_OK);
    assert_int_equal(td_attrs("0200001000000000", true), DGA_E_TD_RESERVED_ATTRIBUTES);
    assert_int_equal(td_attrs("0200001000000000", false), DGA_E_TD_RESERVED_ATTRIBUTES);
    assert_int_equal(td_attrs("0300001000000000", false), DGA_E_TD_RESERVED_ATTRIBUTES);
    assert_int_equal(td_attrs("8000001000000000", true), DGA_E_TD_RESERVED_ATTRIBUTES); /* 7 */
    assert_int_equal(td_attrs("0001001000000000", true), DGA_E_TD_RESERVED_ATTRIBUTES); /* 8 */
    assert_int_equal(td_attrs("0000001800000000", true), DGA_E_TD_RESERVED_ATTRIBUTES); /* 27 */
    assert_int_equal(td_attrs("0000003000000000", true), DGA_E_TD_RESERVED_ATTRIBUTES); /* 29 */
    assert_int_equal(td_attrs("0000001001000000", true), DGA_E_TD_RESERVED_ATTRIBUTES); /* 32 */
    assert_int_equal(td_attrs("0000001000000040", true), DGA_E_TD_RESERVED_ATTRIBUTES); /* 62 */
    /* PKS (30), KL (31) and PERFMON (63) are allowed. */
    assert_int_equal(td_attrs("000000d000000080", false), DGA_E_OK);
    /* SEPT_VE_DISABLE (28) is required, after the DEBUG check. */
    assert_int_equal(td_attrs("0000000000000000", false), DGA_E_TD_SEPT_VE);
    assert_int_equal(td_attrs("0100000000000000", false), DGA_E_TD_DEBUG);
    assert_int_equal(td_attrs("0100000000000000", true), DGA_E_TD_SEPT_VE);
    assert_int_equal(dga_td_attributes_check(NULL, false, false), DGA_E_BAD_ARGUMENT);
}

static void test_td_service_td(void **state)
{
    (void)state;
    struct dga_quote q;
    memset(&q, 0, sizeof q);
    q.body = DGA_QUOTE_BODY_IS_TD15;
    q.td.td_attributes[3] = 0x10;
    assert_int_equal(dga_td_attributes_check(&q, false, false), DGA_E_OK);
    q.td.mr_service_td[47] = 1;
    assert_int_equal(dga_td_attributes_check(&q, false, false), DGA_E_TD_SERVICE_TD);
    assert_int_equal(dga_td_attributes_check(&q, false, true), DGA_E_OK);
    /* The attribute rules come first. */
    q.td.td_attributes[0] = 0x01;
    assert_int_equal(dga_td_attributes_check(&q, false, false), DGA_E_TD_DEBUG);
    /* A TD10 body has no mr_service_td: the field is not looked at. */
    q.td.td_attributes[0] = 0;
    q.body = DGA_QUOTE_BODY_IS_TD10;
    assert_int_equal(dga_td_attributes_check(&q, false, false), DGA_E_OK);
}

/* ------------------------------------------------------------ JSON templates and edits */

static const char tcb_template[] =
    "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2025-06-19T10:16:03Z\","
    "\"nextUpdate\":\"2025-07-19T10:16:03Z\",\"fmspc\":\"b0c06F000000\",\"pceId\":\"0000\","
    "\"tcbType\":0,\"tcbEvaluationDataNumber\":17,\"unknownKey\":{\"x\":[1]},"
    "\"tdxModule\":{\"mrsigner\":\""
    "000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000\","
    "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},"
    "\"tdxModuleIdentities\":[{\"id\":\"TDX_01\",\"mrsigner\":\""
    "000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000\","
    "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
    "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\","
    "\"tcbStatus\":\"UpToDate\"}]}],"
    "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":2,\"category\":\"BIOS\"},"
    "{\"svn\":2},{\"svn\":2},{\"svn\":2},{\"svn\":3},{\"svn\":1},{\"svn\":0},{\"svn\":5},"
    "{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},"
    "{\"svn\":0}],\"pcesvn\":11,\"tdxtcbcomponents\":[{\"svn\":5},{\"svn\":0},{\"svn\":2},"
    "{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},"
    "{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0}]},"
    "\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
    "{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":1}],\"pcesvn\":5},"
    "\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDate\","
    "\"advisoryIDs\":[\"INTEL-SA-00106\",\"INTEL-SA-00115\",\"INTEL-SA-00106\"]}]}";

/* The node at a dotted path ("tcbLevels.1.tcb"; numbers index arrays). */
static json_t *at(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *node = root;
    for (char *save = NULL, *part = strtok_r(buf, ".", &save); part != NULL;
         part = strtok_r(NULL, ".", &save)) {
        node = json_is_array(node) ? json_array_get(node, strtoul(part, NULL, 10))
                                   : json_object_get(node, part);
        assert_non_null(node);
    }
    return node;
}

/* template with parent.key set to value (stolen), or removed when value is NULL; malloc'd. */
static char *edit(const char *template, const char *parent, const char *key, json_t *value)
{
    json_t *root = json_loads(template, 0, NULL);
    assert_non_null(root);
    json_t *p = parent[0] == '\0' ? root : at(root, parent);
    if (value == NULL) {
        assert_int_equal(json_object_del(p, key), 0);
    } else if (json_is_array(p)) {
        assert_int_equal(json_array_set_new(p, strtoul(key, NULL, 10), value), 0);
    } else {
        assert_int_equal(json_object_set_new(p, key, value), 0);
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(text);
    json_decref(root);
    return text;
}

static void tcb_fails(char *text, const char *field, size_t offset)
{
    struct dga_tcb_info t;
    memset(&t, 0xa5, sizeof t);
    struct dga_tcb_info before = t;
    struct dga_diag d = {0};
    assert_int_equal(dga_tcb_info_parse(text, strlen(text), &t, &d), DGA_E_TCB_INFO_MALFORMED);
    assert_int_equal(d.err, DGA_E_TCB_INFO_MALFORMED);
    assert_string_equal(d.field, field);
    assert_int_equal(d.offset, offset);
    assert_memory_equal(&t, &before, sizeof t);
    free(text);
}

static void test_tcb_template(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    assert_int_equal(dga_tcb_info_parse(tcb_template, strlen(tcb_template), &t, NULL), DGA_E_OK);
    assert_int_equal(t.fmspc[1], 0xc0);
    assert_int_equal(t.n_levels, 2);
    assert_int_equal(t.levels[1].n_sgx, 1);
    assert_int_equal(t.levels[1].n_tdx, 0);
    /* A repeated advisory id is kept once. */
    assert_result(&t.levels[1].result, DGA_TCB_OUT_OF_DATE, 2, "INTEL-SA-00106", "INTEL-SA-00115");
    dga_tcb_info_clear(&t);
    /* Upper limits that still parse. */
    char *text = edit(tcb_template, "tcbLevels.0.tcb", "pcesvn", json_integer(65535));
    assert_int_equal(dga_tcb_info_parse(text, strlen(text), &t, NULL), DGA_E_OK);
    assert_int_equal(t.levels[0].pce_svn, 65535);
    dga_tcb_info_clear(&t);
    free(text);
    text = edit(tcb_template, "", "tcbEvaluationDataNumber", json_integer(4294967295));
    assert_int_equal(dga_tcb_info_parse(text, strlen(text), &t, NULL), DGA_E_OK);
    assert_int_equal(t.tcb_evaluation_data_number, 4294967295u);
    dga_tcb_info_clear(&t);
    free(text);
    /* Without tdxModule and its identities (optional in the schema). */
    text = edit(tcb_template, "", "tdxModule", NULL);
    char *text2 = edit(text, "", "tdxModuleIdentities", NULL);
    assert_int_equal(dga_tcb_info_parse(text2, strlen(text2), &t, NULL), DGA_E_OK);
    assert_false(t.has_tdx_module);
    assert_int_equal(t.n_module_identities, 0);
    dga_tcb_info_clear(&t);
    free(text);
    free(text2);
}

static void test_tcb_errors_header(void **state)
{
    (void)state;
    tcb_fails(edit(tcb_template, "", "fmspc", NULL), "fmspc", 0);
    tcb_fails(edit(tcb_template, "", "fmspc", json_string("B0C06F00000")), "fmspc", 0);
    tcb_fails(edit(tcb_template, "", "fmspc", json_string("B0C06F0000000")), "fmspc", 0);
    tcb_fails(edit(tcb_template, "", "fmspc", json_string("B0C06F00000G")), "fmspc", 0);
    tcb_fails(edit(tcb_template, "", "fmspc", json_integer(1)), "fmspc", 0);
    tcb_fails(edit(tcb_template, "", "pceId", json_string("000")), "pceId", 0);
    tcb_fails(edit(tcb_template, "", "id", json_string("TDXTDXTD")), "id", 0);
    tcb_fails(edit(tcb_template, "", "id", NULL), "id", 0);
    tcb_fails(edit(tcb_template, "", "version", json_string("3")), "version", 0);
    tcb_fails(edit(tcb_template, "", "version", json_integer(256)), "version", 0);
    tcb_fails(edit(tcb_template, "", "version", json_integer(-1)), "version", 0);
    tcb_fails(edit(tcb_template, "", "version", json_real(3.0)), "version", 0);
    tcb_fails(edit(tcb_template, "", "tcbType", json_integer(4294967296)), "tcbType", 0);
    tcb_fails(edit(tcb_template, "", "tcbEvaluationDataNumber", json_true()),
              "tcbEvaluationDataNumber", 0);
    tcb_fails(edit(tcb_template, "", "tcbLevels", NULL), "tcbLevels", 0);
    tcb_fails(edit(tcb_template, "", "tcbLevels", json_object()), "tcbLevels", 0);
    tcb_fails(edit(tcb_template, "", "tdxModule", json_string("x")), "tdxModule", 0);
    tcb_fails(edit(tcb_template, "tdxModule", "mrsigner", json_string("00")), "tdxModule.mrsigner",
              0);
    tcb_fails(edit(tcb_template, "tdxModule", "attributesMask", NULL), "tdxModule.attributesMask",
              0);
}

static void test_tcb_errors_dates(void **state)
{
    (void)state;
    const char *bad[] = {
        "2025-06-19T10:16:03+00:00", "2025-06-19T10:16:03.5Z",
        "2025-06-19 10:16:03Z",      "2025-06-19t10:16:03Z",
        "2025-06-19T10:16:03z",      "2025-02-29T00:00:00Z",
        "2025-13-01T00:00:00Z",      "2025-00-01T00:00:00Z",
        "2025-06-31T00:00:00Z",      "2025-06-19T24:00:00Z",
        "2025-06-19T10:60:00Z",      "2025-06-19T10:16:60Z",
        "2025-6-19T10:16:03Z",       "+025-06-19T10:16:03Z",
        "2025-06-19T10:16:03",       "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tcb_fails(edit(tcb_template, "", "issueDate", json_string(bad[i])), "issueDate", 0);
    }
    tcb_fails(edit(tcb_template, "", "nextUpdate", json_integer(1752920163)), "nextUpdate", 0);
    /* A leap day, and the epoch itself. */
    struct dga_tcb_info t;
    char *text = edit(tcb_template, "", "issueDate", json_string("2024-02-29T23:59:59Z"));
    char *text2 = edit(text, "", "nextUpdate", json_string("1970-01-01T00:00:00Z"));
    assert_int_equal(dga_tcb_info_parse(text2, strlen(text2), &t, NULL), DGA_E_OK);
    assert_int_equal(t.issue_date, 1709251199);
    assert_int_equal(t.next_update, 0);
    dga_tcb_info_clear(&t);
    free(text);
    free(text2);
}

static void test_tcb_errors_levels(void **state)
{
    (void)state;
    tcb_fails(edit(tcb_template, "tcbLevels.1", "tcbStatus", json_string("Upgraded")),
              "tcbLevels[].tcbStatus", 1);
    tcb_fails(edit(tcb_template, "tcbLevels.1", "tcbStatus", json_string("uptodate")),
              "tcbLevels[].tcbStatus", 1);
    tcb_fails(edit(tcb_template, "tcbLevels.0", "tcbStatus", NULL), "tcbLevels[].tcbStatus", 0);
    tcb_fails(edit(tcb_template, "tcbLevels.0", "tcbDate", NULL), "tcbLevels[].tcbDate", 0);
    tcb_fails(edit(tcb_template, "tcbLevels.0", "tcb", json_array()), "tcbLevels[].tcb", 0);
    tcb_fails(edit(tcb_template, "tcbLevels", "1", json_integer(1)), "tcbLevels[]", 1);
    tcb_fails(edit(tcb_template, "tcbLevels.1.tcb", "pcesvn", json_integer(65536)),
              "tcbLevels[].tcb.pcesvn", 1);
    tcb_fails(edit(tcb_template, "tcbLevels.0.tcb.sgxtcbcomponents.7", "svn", json_integer(256)),
              "tcbLevels[].tcb.sgxtcbcomponents[].svn", 7);
    tcb_fails(edit(tcb_template, "tcbLevels.0.tcb.sgxtcbcomponents", "3", json_integer(2)),
              "tcbLevels[].tcb.sgxtcbcomponents[].svn", 3);
    tcb_fails(edit(tcb_template, "tcbLevels.0.tcb", "sgxtcbcomponents", NULL),
              "tcbLevels[].tcb.sgxtcbcomponents", 0);
    tcb_fails(edit(tcb_template, "tcbLevels.0.tcb.tdxtcbcomponents.15", "svn", json_integer(-1)),
              "tcbLevels[].tcb.tdxtcbcomponents[].svn", 15);
    tcb_fails(edit(tcb_template, "tcbLevels.0.tcb", "tdxtcbcomponents", json_null()),
              "tcbLevels[].tcb.tdxtcbcomponents", 0);
    tcb_fails(edit(tcb_template, "tcbLevels.1", "advisoryIDs", json_string("INTEL-SA-1")),
              "tcbLevels[].advisoryIDs", 1);
    tcb_fails(edit(tcb_template, "tcbLevels.1.advisoryIDs", "0", json_integer(1)),
              "tcbLevels[].advisoryIDs", 1);
    tcb_fails(edit(tcb_template, "tcbLevels.1.advisoryIDs", "0", json_string("")),
              "tcbLevels[].advisoryIDs", 1);
    tcb_fails(edit(tcb_template, "tcbLevels.1.advisoryIDs", "0",
                   json_string("INTEL-SA-0000000000000000000000X")), /* 32 characters */
              "tcbLevels[].advisoryIDs", 1);
    tcb_fails(edit(tcb_template, "tdxModuleIdentities.0", "id", json_string("TDX_01_LONG_ID_X")),
              "tdxModuleIdentities[].id", 0);
    tcb_fails(edit(tcb_template, "tdxModuleIdentities.0", "attributes", json_string("00")),
              "tdxModuleIdentities[].attributes", 0);
    tcb_fails(edit(tcb_template, "tdxModuleIdentities.0", "tcbLevels", NULL),
              "tdxModuleIdentities[].tcbLevels", 0);
    tcb_fails(
        edit(tcb_template, "tdxModuleIdentities.0.tcbLevels.0.tcb", "isvsvn", json_integer(256)),
        "tdxModuleIdentities[].tcbLevels[].tcb.isvsvn", 0);
    tcb_fails(
        edit(tcb_template, "tdxModuleIdentities.0.tcbLevels.0", "tcbStatus", json_string("Good")),
        "tdxModuleIdentities[].tcbLevels[].tcbStatus", 0);
    tcb_fails(edit(tcb_template, "", "tdxModuleIdentities", json_object()), "tdxModuleIdentities",
              0);
}

/* An array of n copies of the element at path. */
static json_t *copies(const char *path, size_t n)
{
    json_t *root = json_loads(tcb_template, 0, NULL);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_deep_copy(at(root, path)));
    }
    json_decref(root);
    return a;
}

static void test_tcb_limits(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    /* At each limit it parses; one past it is malformed (the header's choice). */
    char *text = edit(tcb_template, "", "tcbLevels", copies("tcbLevels.0", DGA_TCB_LEVELS_MAX));
    assert_int_equal(dga_tcb_info_parse(text, strlen(text), &t, NULL), DGA_E_OK);
    assert_int_equal(t.n_levels, DGA_TCB_LEVELS_MAX);
    dga_tcb_info_clear(&t);
    free(text);
    tcb_fails(edit(tcb_template, "", "tcbLevels", copies("tcbLevels.0", DGA_TCB_LEVELS_MAX + 1)),
              "tcbLevels", 0);
    text = edit(tcb_template, "", "tdxModuleIdentities",
                copies("tdxModuleIdentities.0", DGA_TDX_MODULE_IDENTITIES_MAX));
    assert_int_equal(dga_tcb_info_parse(text, strlen(text), &t, NULL), DGA_E_OK);
    assert_int_equal(t.n_module_identities, DGA_TDX_MODULE_IDENTITIES_MAX);
    dga_tcb_info_clear(&t);
    free(text);
    tcb_fails(edit(tcb_template, "", "tdxModuleIdentities",
                   copies("tdxModuleIdentities.0", DGA_TDX_MODULE_IDENTITIES_MAX + 1)),
              "tdxModuleIdentities", 0);
    tcb_fails(edit(tcb_template, "tdxModuleIdentities.0", "tcbLevels",
                   copies("tdxModuleIdentities.0.tcbLevels.0", DGA_TCB_LEVELS_MAX + 1)),
              "tdxModuleIdentities[].tcbLevels", 0);
    text = edit(tcb_template, "tcbLevels.0.tcb", "sgxtcbcomponents",
                copies("tcbLevels.0.tcb.sgxtcbcomponents.1", DGA_TCB_COMPONENTS_MAX));
    assert_int_equal(dga_tcb_info_parse(text, strlen(text), &t, NULL), DGA_E_OK);
    assert_int_equal(t.levels[0].n_sgx, DGA_TCB_COMPONENTS_MAX);
    dga_tcb_info_clear(&t);
    free(text);
    tcb_fails(edit(tcb_template, "tcbLevels.0.tcb", "sgxtcbcomponents",
                   copies("tcbLevels.0.tcb.sgxtcbcomponents.1", DGA_TCB_COMPONENTS_MAX + 1)),
              "tcbLevels[].tcb.sgxtcbcomponents", 0);
    json_t *ids = json_array();
    for (size_t i = 0; i <= DGA_TCB_ADVISORY_MAX; i++) {
        char id[32];
        snprintf(id, sizeof id, "INTEL-SA-%05zu", i);
        json_array_append_new(ids, json_string(id));
    }
    json_t *fewer = json_deep_copy(ids);
    json_array_remove(fewer, 0);
    text = edit(tcb_template, "tcbLevels.1", "advisoryIDs", fewer);
    assert_int_equal(dga_tcb_info_parse(text, strlen(text), &t, NULL), DGA_E_OK);
    assert_int_equal(t.levels[1].result.n_advisories, DGA_TCB_ADVISORY_MAX);
    dga_tcb_info_clear(&t);
    free(text);
    tcb_fails(edit(tcb_template, "tcbLevels.1", "advisoryIDs", ids), "tcbLevels[].advisoryIDs", 1);
}

static void test_tcb_errors_text(void **state)
{
    (void)state;
    struct dga_tcb_info t;
    struct dga_diag d = {0};
    /* A key given twice is refused (jansson JSON_REJECT_DUPLICATES). */
    const char dup[] = "{\"id\":\"TDX\",\"version\":3,\"version\":3}";
    assert_int_equal(dga_tcb_info_parse(dup, strlen(dup), &t, &d), DGA_E_TCB_INFO_MALFORMED);
    assert_string_equal(d.field, "json");
    const char syntax[] = "{\"id\":\"TDX\",";
    assert_int_equal(dga_tcb_info_parse(syntax, strlen(syntax), &t, &d), DGA_E_TCB_INFO_MALFORMED);
    assert_string_equal(d.field, "json");
    assert_int_equal(d.offset, strlen(syntax));
    assert_int_equal(dga_tcb_info_parse("[1]", 3, &t, &d), DGA_E_TCB_INFO_MALFORMED);
    assert_string_equal(d.field, "json");
    assert_int_equal(dga_tcb_info_parse("{\"id\":\"T\\u0000X\"}", 18, &t, &d),
                     DGA_E_TCB_INFO_MALFORMED);
    /* The length counts: the template cut short is not the template. */
    assert_int_equal(dga_tcb_info_parse(tcb_template, strlen(tcb_template) - 1, &t, &d),
                     DGA_E_TCB_INFO_MALFORMED);
    assert_int_equal(dga_tcb_info_parse(NULL, 0, &t, &d), DGA_E_BAD_ARGUMENT);
    assert_int_equal(dga_tcb_info_parse(tcb_template, strlen(tcb_template), NULL, &d),
                     DGA_E_BAD_ARGUMENT);
}

static void qe_fails(char *text, const char *field, size_t offset)
{
    struct dga_qe_identity q;
    memset(&q, 0x5a, sizeof q);
    struct dga_qe_identity before = q;
    struct dga_diag d = {0};
    assert_int_equal(dga_qe_identity_parse(text, strlen(text), &q, &d),
                     DGA_E_QE_IDENTITY_MALFORMED);
    assert_string_equal(d.field, field);
    assert_int_equal(d.offset, offset);
    assert_memory_equal(&q, &before, sizeof q);
    free(text);
}

static void test_qe_errors(void **state)
{
    (void)state;
    const char *t = qe_levels_json;
    qe_fails(edit(t, "", "mrsigner", NULL), "mrsigner", 0);
    qe_fails(edit(t, "", "mrsigner", json_string("DC9E")), "mrsigner", 0);
    qe_fails(edit(t, "", "miscselect", json_string("0000000")), "miscselect", 0);
    qe_fails(edit(t, "", "miscselectMask", json_string("FFFFFFFFFF")), "miscselectMask", 0);
    qe_fails(edit(t, "", "attributes", json_string("11")), "attributes", 0);
    qe_fails(edit(t, "", "attributesMask", json_integer(0)), "attributesMask", 0);
    qe_fails(edit(t, "", "isvprodid", json_integer(65536)), "isvprodid", 0);
    qe_fails(edit(t, "", "id", json_string("TD_QE_XX")), "id", 0);
    qe_fails(edit(t, "", "version", json_integer(256)), "version", 0);
    qe_fails(edit(t, "", "issueDate", json_string("2025-06-19")), "issueDate", 0);
    qe_fails(edit(t, "", "nextUpdate", NULL), "nextUpdate", 0);
    qe_fails(edit(t, "", "tcbEvaluationDataNumber", json_integer(-3)), "tcbEvaluationDataNumber",
             0);
    qe_fails(edit(t, "", "tcbLevels", json_string("")), "tcbLevels", 0);
    qe_fails(edit(t, "tcbLevels.2.tcb", "isvsvn", json_integer(65536)), "tcbLevels[].tcb.isvsvn",
             2);
    qe_fails(edit(t, "tcbLevels.1", "tcbStatus", json_string("Unknown")), "tcbLevels[].tcbStatus",
             1);
    qe_fails(edit(t, "tcbLevels.1", "tcb", NULL), "tcbLevels[].tcb", 1);
    qe_fails(edit(t, "tcbLevels", "0", json_null()), "tcbLevels[]", 0);
    /* The widest ISVSVN parses; lowercase hex and unknown keys are fine. */
    struct dga_qe_identity q;
    char *text = edit(t, "tcbLevels.0.tcb", "isvsvn", json_integer(65535));
    char *text2 =
        edit(text, "", "mrsigner",
             json_string("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"));
    char *text3 = edit(text2, "", "enclaveExtra", json_string("ignored"));
    assert_int_equal(dga_qe_identity_parse(text3, strlen(text3), &q, NULL), DGA_E_OK);
    assert_int_equal(q.levels[0].isv_svn, 65535);
    assert_int_equal(q.mrsigner[0], 0xdc);
    dga_qe_identity_clear(&q);
    free(text);
    free(text2);
    free(text3);
    struct dga_diag d = {0};
    const char dup[] = "{\"id\":\"TD_QE\",\"id\":\"QE\"}";
    assert_int_equal(dga_qe_identity_parse(dup, strlen(dup), &q, &d), DGA_E_QE_IDENTITY_MALFORMED);
    assert_string_equal(d.field, "json");
}

/* ------------------------------------------------------------ collateral members */

#define SIG_HEX                                                                                    \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"                             \
    "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"

static const char coll_template[] =
    "{\"pck_crl_issuer_chain\":\"PCK CA\",\"root_ca_crl\":\"30820122\",\"pck_crl\":\"3082\","
    "\"tcb_info_issuer_chain\":\"TCB chain\",\"tcb_info\":\"{\\\"id\\\":\\\"TDX\\\"}\","
    "\"tcb_info_signature\":\"" SIG_HEX "\",\"qe_identity_issuer_chain\":\"QE chain\","
    "\"qe_identity\":\"{}\",\"qe_identity_signature\":\"" SIG_HEX "\",\"extra\":[1,2]}";

static void coll_fails(char *text, dga_err want, const char *field)
{
    struct dga_quote_collateral c;
    memset(&c, 0x77, sizeof c);
    struct dga_quote_collateral before = c;
    struct dga_diag d = {0};
    assert_int_equal(dga_quote_collateral_parse(text, strlen(text), &c, &d), want);
    assert_string_equal(d.field, field);
    assert_memory_equal(&c, &before, sizeof c);
    free(text);
}

static void test_collateral_template(void **state)
{
    (void)state;
    struct dga_quote_collateral c;
    assert_int_equal(dga_quote_collateral_parse(coll_template, strlen(coll_template), &c, NULL),
                     DGA_E_OK);
    assert_string_equal(c.pck_crl_issuer_chain, "PCK CA");
    assert_int_equal(c.root_ca_crl_len, 4);
    assert_int_equal(c.root_ca_crl[3], 0x22);
    assert_int_equal(c.pck_crl_len, 2);
    assert_string_equal(c.tcb_info, "{\"id\":\"TDX\"}");
    assert_int_equal(c.tcb_info_len, 12);
    assert_string_equal(c.qe_identity, "{}");
    assert_int_equal(c.tcb_info_signature[63], 0xff);
    assert_int_equal(c.qe_identity_signature[17], 0x11);
    assert_null(c.pck_certificate_chain);
    dga_quote_collateral_clear(&c);
    /* Byte arrays (the JS port's form) decode to the same bytes. */
    json_t *sig = json_array();
    for (size_t i = 0; i < 64; i++) {
        json_array_append_new(sig, json_integer(i == 63 ? 255 : 0));
    }
    char *text = edit(coll_template, "", "tcb_info_signature", sig);
    char *text2 = edit(text, "", "pck_crl", json_pack("[i,i,i]", 0, 128, 255));
    char *text3 = edit(text2, "", "pck_certificate_chain", json_string("PCK chain"));
    assert_int_equal(dga_quote_collateral_parse(text3, strlen(text3), &c, NULL), DGA_E_OK);
    assert_int_equal(c.tcb_info_signature[63], 255);
    assert_int_equal(c.tcb_info_signature[0], 0);
    assert_int_equal(c.pck_crl_len, 3);
    assert_int_equal(c.pck_crl[1], 128);
    assert_string_equal(c.pck_certificate_chain, "PCK chain");
    dga_quote_collateral_clear(&c);
    free(text);
    free(text2);
    free(text3);
    text = edit(coll_template, "", "pck_certificate_chain", json_null());
    assert_int_equal(dga_quote_collateral_parse(text, strlen(text), &c, NULL), DGA_E_OK);
    assert_null(c.pck_certificate_chain);
    dga_quote_collateral_clear(&c);
    free(text);
}

static void test_collateral_errors(void **state)
{
    (void)state;
    const char *members[] = {"pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",
                             "tcb_info_issuer_chain",    "tcb_info",    "tcb_info_signature",
                             "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"};
    for (size_t i = 0; i < 9; i++) {
        coll_fails(edit(coll_template, "", members[i], NULL), DGA_E_QUOTE_COLLATERAL, members[i]);
        coll_fails(edit(coll_template, "", members[i], json_integer(1)), DGA_E_QUOTE_COLLATERAL,
                   members[i]);
    }
    const char *t = coll_template;
    coll_fails(edit(t, "", "tcb_info_signature", json_string(SIG_HEX "00")), DGA_E_QUOTE_COLLATERAL,
               "tcb_info_signature");
    coll_fails(edit(t, "", "qe_identity_signature", json_string("0011")), DGA_E_QUOTE_COLLATERAL,
               "qe_identity_signature");
    coll_fails(edit(t, "", "qe_identity_signature", json_string(SIG_HEX "0")),
               DGA_E_QUOTE_COLLATERAL, "qe_identity_signature");
    coll_fails(edit(t, "", "root_ca_crl", json_string("308")), DGA_E_QUOTE_COLLATERAL,
               "root_ca_crl");
    coll_fails(edit(t, "", "root_ca_crl", json_string("0x3082")), DGA_E_QUOTE_COLLATERAL,
               "root_ca_crl");
    coll_fails(edit(t, "", "root_ca_crl", json_string(" 3082")), DGA_E_QUOTE_COLLATERAL,
               "root_ca_crl");
    coll_fails(edit(t, "", "root_ca_crl", json_string("")), DGA_E_QUOTE_COLLATERAL, "root_ca_crl");
    coll_fails(edit(t, "", "pck_crl", json_array()), DGA_E_QUOTE_COLLATERAL, "pck_crl");
    coll_fails(edit(t, "", "pck_crl", json_pack("[i,i]", 1, 256)), DGA_E_QUOTE_COLLATERAL,
               "pck_crl");
    coll_fails(edit(t, "", "pck_crl", json_pack("[i,i]", 1, -1)), DGA_E_QUOTE_COLLATERAL,
               "pck_crl");
    coll_fails(edit(t, "", "pck_crl", json_pack("[i,s]", 1, "2")), DGA_E_QUOTE_COLLATERAL,
               "pck_crl");
    coll_fails(edit(t, "", "tcb_info", json_stringn("{}\0x", 4)), DGA_E_QUOTE_COLLATERAL,
               "tcb_info");
    coll_fails(edit(t, "", "pck_crl_issuer_chain", json_null()), DGA_E_QUOTE_COLLATERAL,
               "pck_crl_issuer_chain");
    coll_fails(edit(t, "", "pck_certificate_chain", json_integer(5)), DGA_E_QUOTE_COLLATERAL,
               "pck_certificate_chain");
    coll_fails(edit(t, "", "pck_certificate_chain", json_stringn("a\0b", 3)),
               DGA_E_QUOTE_COLLATERAL, "pck_certificate_chain");
    /* A member given twice; not an object; bad JSON; past the size limit. */
    char dup[sizeof coll_template + 32];
    snprintf(dup, sizeof dup, "{\"tcb_info\":\"x\",%s", coll_template + 1);
    coll_fails(strdup(dup), DGA_E_QUOTE_COLLATERAL, "collateral");
    coll_fails(strdup("[]"), DGA_E_QUOTE_COLLATERAL, "collateral");
    coll_fails(strdup("{\"pck_crl\":"), DGA_E_QUOTE_COLLATERAL, "collateral");
    size_t big = DGA_QUOTE_COLLATERAL_MAX + 1;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, ' ', big);
    huge[big] = '\0';
    memcpy(huge, coll_template, strlen(coll_template));
    coll_fails(huge, DGA_E_TOO_LARGE, "collateral");
    struct dga_quote_collateral c;
    assert_int_equal(dga_quote_collateral_parse(NULL, 0, &c, NULL), DGA_E_BAD_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_collateral_members),
        cmocka_unit_test(test_real_tcb_info),
        cmocka_unit_test(test_real_tcb_info_outdated),
        cmocka_unit_test(test_real_tcb_info_near),
        cmocka_unit_test(test_real_qe_identity),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_converge),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_platform_real),
        cmocka_unit_test(test_platform_components),
        cmocka_unit_test(test_module_identity),
        cmocka_unit_test(test_module_signer_attributes),
        cmocka_unit_test(test_qe_identity_real),
        cmocka_unit_test(test_qe_identity_tee),
        cmocka_unit_test(test_qe_identity_levels),
        cmocka_unit_test(test_td_attributes),
        cmocka_unit_test(test_td_service_td),
        cmocka_unit_test(test_tcb_template),
        cmocka_unit_test(test_tcb_errors_header),
        cmocka_unit_test(test_tcb_errors_dates),
        cmocka_unit_test(test_tcb_errors_levels),
        cmocka_unit_test(test_tcb_limits),
        cmocka_unit_test(test_tcb_errors_text),
        cmocka_unit_test(test_qe_errors),
        cmocka_unit_test(test_collateral_template),
        cmocka_unit_test(test_collateral_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
