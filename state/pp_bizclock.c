/* pp_bizclock: see pp_bizclock.h. */
#include "pp_bizclock.h"

#include "pp_partner.h"

#define PP_DAY_MS_REAL 86400000LL

/* No zone: UTC (constant data, a zone with no offset changes). */
static const pp_zone_t utc_zone = {.name = "UTC", .initial_offset_s = 0, .n_transitions = 0};
#define ZONE(clk) ((clk)->zone ? (clk)->zone : &utc_zone)

int64_t pp_biz_elapsed_ms(const pp_bizclock_t *clk, int64_t from_ms, int64_t to_ms)
{
    if (to_ms <= from_ms)
        return 0;
    if (clk == NULL || clk->cal == NULL)
        return to_ms - from_ms;
    return pp_calendar_elapsed_ms(clk->cal, ZONE(clk), from_ms, to_ms);
}

uint32_t pp_biz_elapsed_s(const pp_bizclock_t *clk, uint32_t from_s, uint32_t to_s)
{
    if (to_s <= from_s)
        return 0;
    int64_t ms = pp_biz_elapsed_ms(clk, pp_ms(from_s), pp_ms(to_s));
    return ms / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ms / 1000);
}

int64_t pp_biz_add_ms(const pp_bizclock_t *clk, int64_t from_ms, int64_t business_ms)
{
    if (business_ms <= 0)
        return from_ms;
    if (clk == NULL || clk->cal == NULL)
        return from_ms + business_ms;
    return pp_calendar_add_ms(clk->cal, ZONE(clk), from_ms, business_ms);
}

int64_t pp_biz_day_ms(const pp_bizclock_t *clk)
{
    return clk == NULL || clk->cal == NULL ? PP_DAY_MS_REAL : pp_calendar_day_ms(clk->cal);
}

uint32_t pp_name_hash32(const char *s)
{
    uint32_t h = 2166136261u;
    if (s == NULL || s[0] == '\0')
        return 0;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h ? h : 1;
}
