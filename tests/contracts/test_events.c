/*
 * test_events.c - every event the example trial's contracts emit decodes by its topic
 * (registry/execution/events.h, contracts/ABI.md "Events"), with the values the scenario
 * put in; data that does not fit its topic, or an unknown topic, does not decode.
 */
#include <criterion/criterion.h>

#include "ctest_world.h"
#include "events.h"

Test(events, every_event_of_the_example_trial_decodes_by_its_topic)
{
    tw t;
    tw_open(&t, "trialreg-example");
    cr_assert_eq(scenario_run(&t.w, NULL), 0);
    ledger_summary head;
    ledger_head(t.w.l, &head);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    static codec_receipt r;
    uint32_t decoded = 0, granted = 0;
    for (uint64_t h = 1; h <= head.height; h++) {
        uint8_t *data;
        size_t len;
        cr_assert_eq(ledger_get_block(t.w.l, h, &data, &len), LEDGER_OK);
        codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL),
                     CODEC_OK);
        for (uint32_t i = 0; i < b.receipt_count; i++) {
            cr_assert_eq(codec_receipt_decode(receipts[i].data, receipts[i].len, &r, NULL), CODEC_OK);
            for (uint32_t k = 0; k < r.event_count; k++) {
                event_field f[EVENT_FIELDS_MAX];
                int n = event_decode(r.events[k].topic.text, r.events[k].data, r.events[k].len, f);
                cr_assert_gt(n, 0, "height %llu tx %u: %s does not decode",
                             (unsigned long long)h, i, r.events[k].topic.text);
                decoded++;
                if (strcmp(r.events[k].topic.text, "consent.granted") != 0) continue;
                cr_expect_str_eq(f[0].name, "trial");
                cr_expect(f[0].len == strlen(SCENARIO_TRIAL)
                          && memcmp(f[0].bytes, SCENARIO_TRIAL, f[0].len) == 0);
                cr_expect_eq(f[1].kind, EVENT_FIELD_KEY);
                cr_expect_eq(f[3].kind, EVENT_FIELD_SCOPES);
                cr_expect(f[3].u >= 1 && f[3].u <= 31, "scopes %llu", (unsigned long long)f[3].u);
                granted++;
            }
        }
        free(data);
    }
    cr_expect_gt(decoded, 30, "the scenario emits many events");
    cr_expect_gt(granted, 2);
    tw_close(&t);
}

Test(events, data_that_does_not_fit_its_topic_does_not_decode)
{
    event_field f[EVENT_FIELDS_MAX];
    uint8_t d[64] = {3, 'T', '-', '1', 0, 0, 0, 0, 0, 0, 0, 2};
    cr_expect_eq(event_decode("protocol.registered", d, 12, f), 2);
    cr_expect_eq(f[1].u, 2);
    cr_expect_eq(event_decode("protocol.registered", d, 11, f), -1, "too short");
    cr_expect_eq(event_decode("protocol.registered", d, 13, f), -1, "too long");
    cr_expect_eq(event_decode("protocol.unknown", d, 12, f), -1);
    cr_expect_eq(event_decode("protocol.amended", d, 20, f), 3);
    d[19] = 2;
    cr_expect_eq(event_decode("protocol.amended", d, 20, f), -1, "a flag of 2");
    d[0] = 40;
    cr_expect_eq(event_decode("protocol.registered", d, 12, f), -1, "a trial id past the data");
    cr_expect_eq(event_decode("tx.pruned", d, 32, f), 1);
    cr_expect_str_eq(event_scope_name(4), "future_research");
    cr_expect_null(event_scope_name(3));
    cr_expect(event_is_flag("outcome.flag.primary_switched"));
}
