/*
 * events.c - contract events decoded by topic (events.h).
 */
#include "events.h"

#include <string.h>

/* A topic's layout after lp(T): one letter per field (k key, h hash, u uint, f flag,
 * s scopes, t time, x the rest as text), and the fields' names. */
typedef struct {
    const char *topic;
    const char *layout;
    const char *names[EVENT_FIELDS_MAX - 1];
} event_schema;

static const event_schema SCHEMAS[] = {
    {"protocol.registered", "u", {"version"}},
    {"protocol.amended", "uf", {"version", "reconsent_required"}},
    {"protocol.flag.outcomes_changed", "u", {"version"}},
    {"protocol.approved", "uf", {"version", "reconsent_required"}},
    {"protocol.site_activated", "x", {"site"}},
    {"consent.enrolled", "kx", {"participant", "site"}},
    {"consent.flag.over_enrolment", "uu", {"enrolled", "planned"}},
    {"consent.granted", "kus", {"participant", "version", "scopes"}},
    {"consent.withdrawn", "kss", {"participant", "withdrawn", "remaining"}},
    {"consent.withdrawn_by_site", "ksshx", {"participant", "withdrawn", "remaining", "request", "site"}},
    {"consent.rebind_requested", "kkth", {"participant", "new_key", "effective_at", "request"}},
    {"consent.rebind_vetoed", "kk", {"participant", "new_key"}},
    {"consent.rebound", "kksux", {"participant", "new_key", "scopes", "version", "site"}},
    {"consent.flag.after_rebinding", "kk", {"participant", "rebound_from"}},
    {"data.anchored", "khst", {"participant", "content_hash", "scope", "collected_at"}},
    {"access.granted", "usuh", {"grant", "scope", "count", "list_hash"}},
    {"outcome.flag.not_preregistered", "h", {"outcome"}},
    {"outcome.flag.primary_unreported", "h", {"outcome"}},
    {"outcome.flag.primary_switched", "h", {"outcome"}},
    {"outcome.reported", "uu", {"report", "flags"}},
};

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static const event_schema *schema_of(const char *topic)
{
    for (size_t i = 0; i < sizeof SCHEMAS / sizeof *SCHEMAS; i++)
        if (strcmp(SCHEMAS[i].topic, topic) == 0) return &SCHEMAS[i];
    return NULL;
}

/* One field of kind letter c at data[*at]; false if it does not fit. */
static bool take(char c, const uint8_t *data, uint32_t len, uint32_t *at, event_field *f)
{
    static const event_field_kind kinds[128] = {['k'] = EVENT_FIELD_KEY, ['h'] = EVENT_FIELD_HASH,
                                                ['u'] = EVENT_FIELD_UINT, ['f'] = EVENT_FIELD_FLAG,
                                                ['s'] = EVENT_FIELD_SCOPES, ['t'] = EVENT_FIELD_TIME,
                                                ['x'] = EVENT_FIELD_TEXT};
    f->kind = kinds[(unsigned char)c];
    uint32_t need = c == 'k' || c == 'h' ? 32 : c == 'x' ? len - *at : 8;
    if (len - *at < need || (c == 'x' && need == 0)) return false;
    f->bytes = data + *at;
    f->len = need;
    if (need == 8) f->u = be64(data + *at);
    if (c == 'f' && f->u > 1) return false;
    *at += need;
    return true;
}

int event_decode(const char *topic, const uint8_t *data, uint32_t len,
                 event_field out[EVENT_FIELDS_MAX])
{
    if (strcmp(topic, "tx.pruned") == 0) {
        if (len != 32) return -1;
        out[0] = (event_field){"pruned_entry_hash", EVENT_FIELD_HASH, 0, data, 32};
        return 1;
    }
    const event_schema *s = schema_of(topic);
    if (!s || len < 1 || data[0] < 1 || data[0] > 32 || len < 1u + data[0]) return -1;
    out[0] = (event_field){"trial", EVENT_FIELD_TEXT, 0, data + 1, data[0]};
    uint32_t at = 1u + data[0];
    int n = 1;
    for (const char *c = s->layout; *c; c++, n++) {
        out[n].name = s->names[n - 1];
        if (!take(*c, data, len, &at, &out[n])) return -1;
    }
    return at == len ? n : -1;
}

const char *event_scope_name(uint64_t bit)
{
    switch (bit) {
    case 1: return "main";
    case 2: return "follow_up";
    case 4: return "future_research";
    case 8: return "genetic";
    case 16: return "data_sharing";
    }
    return NULL;
}

bool event_is_flag(const char *topic) { return strstr(topic, ".flag.") != NULL; }
