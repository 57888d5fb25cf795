/*
 * Upgrades keep state: a blob written by every kept version of the layout
 * (tests/fixtures/state_v<N>.bin, written by `fuzz_make_corpus fixture` of
 * that version's code, see tests/fuzz/make_corpus.c) decodes with this code
 * and keeps what it held. The fixture of the current version must exist: the
 * next layout change then has to keep it readable (add its migration, keep
 * the file, write state_v<N+1>.bin).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "pp_engine.h"

#ifndef PP_FIXTURES_DIR
#error "tests/CMakeLists.txt passes PP_FIXTURES_DIR"
#endif

#define FIRST_KEPT_VERSION 8 /* the oldest version with a fixture (6 and 7: test_types.c) */

/* The bytes of fixture state_v<version>.bin into buf; returns their count, 0 when missing. */
static size_t load_fixture(int version, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/state_v%d.bin", PP_FIXTURES_DIR, version);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return 0;
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

static uint8_t blob[16384];

static void decode_fixture(int version, pp_partner_t *st)
{
    size_t n = load_fixture(version, blob, sizeof blob);
    cr_assert_gt(n, 0, "tests/fixtures/state_v%d.bin is missing: write it with "
                       "`fuzz_make_corpus fixture tests/fixtures/state_v%d.bin` (tests/fuzz/make_corpus.c)",
                 version, version);
    cr_assert_eq(pp_partner_blob_version(blob, n), version);
    cr_assert_eq(pp_partner_decode(blob, n, st), 0, "version %d no longer reads", version);
}

/* What fixture_partner (make_corpus.c) put in, as both versions hold it. */
static void check_key_fields(const pp_partner_t *st)
{
    cr_assert_str_eq(st->id, "fixture-partner-1");
    cr_assert_eq(st->events_applied, 128);
    cr_assert_eq(st->deals_sourced, 15);
    cr_assert_eq(st->deals_influenced, 15);
    cr_assert_eq(st->deals_won, 6);
    cr_assert_eq(st->deals_lost, 4);
    cr_assert_eq(st->deals_qualified, 23);
    cr_assert_eq(st->pipeline_sourced_minor, 14800009);
    cr_assert_eq(st->pipeline_influenced_minor, 16200011);
    cr_assert_eq(st->revenue_won_sourced_minor, 3300006);
    cr_assert_eq(st->revenue_won_influenced_minor, 4800006);
    cr_assert_eq(st->referrals_to_us, 2);
    cr_assert_eq(st->referrals_to_partner, 1);
    cr_assert_eq(st->referrals_converted_to_us, 2);
    cr_assert_eq(st->referrals_converted_to_partner, 1);
    cr_assert_eq(st->engagements_inbound, 25);
    cr_assert_eq(st->engagements_outbound, 25);
    cr_assert_eq(st->followups_total, 4);
    cr_assert_eq(st->commits_made[0], 6);
    cr_assert_eq(st->commits_made[1], 2);
    cr_assert_eq(st->commits_missed[0], 4);
    cr_assert_eq(st->clock_ms, 1773792000000LL);
    cr_assert_eq(st->next_deadline_ms, 1773878400000LL);
    cr_assert_float_eq(st->health, 80.968055555555551, 1e-9);
    cr_assert_str_eq(st->tier, "gold");
    cr_assert_str_eq(st->owner, "J\xc3\xb6rg M\xc3\xbcller");
    cr_assert_str_eq(st->display_name, "Fixture Resellers GmbH");
    cr_assert_str_eq(st->last_event_id, "fx-e127");
    cr_assert_str_eq(st->evidence[PP_M_RECENCY], "fx-e125");
    cr_assert_str_eq(st->evidence[PP_M_REVENUE], "~4372-a567-0e02b2c3003c", "a long id keeps its tail");
    cr_assert_eq(st->rules[PP_R_REPLY_OVERDUE].started_at_ms, 1771952400000LL);
    cr_assert_eq(st->rules[PP_R_OVERPROMISE].started_at_ms, 1772409600000LL);
    cr_assert_eq(st->rules[PP_R_LOW_ACV_CHANNEL].started_at_ms, 1768132800000LL);
    cr_assert_eq(st->episodes[PP_R_HEALTH_RED], 1);
    cr_assert_eq(st->snooze_until_ms[PP_R_ONE_SIDED], 1784505600000LL);
    int threads = 0, commits = 0;
    for (int i = 0; i < PP_THREADS_MAX; i++)
        threads += st->threads[i].id != 0;
    for (int i = 0; i < PP_COMMITS_MAX; i++)
        commits += st->commits[i].id != 0;
    cr_assert_gt(threads, 0, "open threads kept");
    cr_assert_gt(commits, 0, "commitments kept");
}

Test(upgrade, the_current_version_has_its_fixture)
{
    static pp_partner_t st;
    decode_fixture(PP_STATE_VERSION, &st);
    check_key_fields(&st);
}

Test(upgrade, every_kept_version_still_reads)
{
    static pp_partner_t st;
    for (int v = FIRST_KEPT_VERSION; v <= PP_STATE_VERSION; v++) {
        decode_fixture(v, &st);
        check_key_fields(&st);
    }
}

/* Zero the bytes after the NUL of a text field (what is left there of a
 * longer id before is not part of the state's meaning). */
static void clear_after_nul(char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    memset(s + n, 0, cap - n);
}

static void clear_ids_tails(pp_partner_t *st)
{
    clear_after_nul(st->last_event_id, sizeof st->last_event_id);
    for (int m = 0; m < PP_M_COUNT; m++)
        clear_after_nul(st->evidence[m], sizeof st->evidence[m]);
}

/* A version-8 blob migrates to exactly what version 9 holds for the same
 * events, but for what version 8 did not keep: the rings of seen event ids
 * and of evicted closed deals start empty. */
Test(upgrade, version_8_migrates_to_what_version_9_holds)
{
    static pp_partner_t v8, v9;
    decode_fixture(8, &v8);
    decode_fixture(9, &v9);
    for (int i = 0; i < PP_SEEN_MAX; i++)
        cr_assert_eq(v8.seen[i], 0);
    for (int i = 0; i < PP_CLOSED_MAX; i++)
        cr_assert_eq(v8.closed_deals[i], 0);
    memset(v9.seen, 0, sizeof v9.seen);
    memset(v9.closed_deals, 0, sizeof v9.closed_deals);
    v9.seen_next = v9.closed_next = 0;
    clear_ids_tails(&v8);
    clear_ids_tails(&v9);
    cr_assert_eq(memcmp(&v8, &v9, sizeof v8), 0, "the migrated state differs from version 9's");
}

/* The migrated state goes on as the current one does: the same next events
 * give the same alerts and the same public fields. */
Test(upgrade, a_migrated_state_goes_on_like_the_current_one)
{
    static pp_partner_t v8, v9;
    static pp_policyset_t ps;
    static pp_alert_t out8[PP_ENGINE_ALERTS_CAP], out9[PP_ENGINE_ALERTS_CAP];
    pp_policyset_default(&ps);
    decode_fixture(8, &v8);
    decode_fixture(9, &v9);
    int64_t t = v9.clock_ms + 3 * DAY_MS;
    pp_event_t evs[] = {
        ev_eng("fixture-partner-1", "next-1", t, "thr-3", PP_DIR_INBOUND, PP_KIND_MESSAGE, false),
        ev_deal("fixture-partner-1", "next-2", t + HOUR_MS, "deal-29", PP_STAGE_WON, PP_ATTR_INFLUENCED, 777),
        ev_referral("fixture-partner-1", "next-3", t + 2 * HOUR_MS, PP_REF_TO_US, PP_REF_SENT),
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        int n8 = pp_engine_apply(&ps, &v8, &evs[i], 0, 1000 + (int64_t)i, t, out8);
        int n9 = pp_engine_apply(&ps, &v9, &evs[i], 0, 1000 + (int64_t)i, t, out9);
        cr_assert_eq(n8, n9, "event %zu", i);
        for (int k = 0; k < n8; k++)
            cr_assert_str_eq(out8[k].alert_id, out9[k].alert_id);
    }
    cr_assert_eq(v8.revenue_won_influenced_minor, v9.revenue_won_influenced_minor);
    cr_assert_eq(v8.health, v9.health);
    cr_assert_eq(v8.engagements_inbound, v9.engagements_inbound);
    cr_assert_eq(v8.referrals_to_us, v9.referrals_to_us);
}

Test(upgrade, a_newer_version_is_told_apart_from_a_corrupt_blob)
{
    size_t n = load_fixture(PP_STATE_VERSION, blob, sizeof blob);
    cr_assert_gt(n, 0);
    static pp_partner_t st, untouched;
    memset(&st, 0x5A, sizeof st);
    memcpy(&untouched, &st, sizeof st);

    blob[4] = PP_STATE_VERSION + 1; /* written by a newer daemon */
    cr_assert_eq(pp_partner_blob_version(blob, n), PP_STATE_VERSION + 1);
    cr_assert_eq(pp_partner_decode(blob, n, &st), -EPROTO);
    blob[4] = 5; /* older than any this code reads */
    cr_assert_eq(pp_partner_decode(blob, n, &st), -EPROTO);
    blob[4] = PP_STATE_VERSION;

    cr_assert_eq(pp_partner_decode(blob, n - 1, &st), -EBADMSG, "truncated");
    blob[8] ^= 1; /* the size field of another layout */
    cr_assert_eq(pp_partner_decode(blob, n, &st), -EBADMSG);
    blob[8] ^= 1;
    blob[0] = 'X'; /* not a state blob */
    cr_assert_eq(pp_partner_blob_version(blob, n), -1);
    cr_assert_eq(pp_partner_decode(blob, n, &st), -EBADMSG);
    cr_assert_eq(pp_partner_decode(blob, 3, &st), -EBADMSG);
    cr_assert_eq(memcmp(&st, &untouched, sizeof st), 0, "*st untouched on errors");
}
