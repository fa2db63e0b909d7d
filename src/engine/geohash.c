/* geohash.c -- see geohash.h.  The arithmetic follows Redis 7.0 step by
 * step (the order of floating-point operations included): scores,
 * distances and the choice of cells must come out bit for bit the same. */
#include "geohash.h"

#include <math.h>
#include <stddef.h>

#define MERCATOR_MAX    20037726.37
#define EARTH_RADIUS_M  6372797.560856
#define DEG_TO_RAD(ang) ((ang) * (M_PI / 180.0))
#define RAD_TO_DEG(ang) ((ang) / (M_PI / 180.0))

static const geo_range lon_wgs84 = {GEO_LONG_MIN, GEO_LONG_MAX};
static const geo_range lat_wgs84 = {GEO_LAT_MIN, GEO_LAT_MAX};

/* The bits of v spread to the even positions of a 64-bit word. */
static uint64_t spread_bits(uint32_t v)
{
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    x = (x | (x << 1)) & 0x5555555555555555ULL;
    return x;
}

/* The inverse: the even bits of x packed into 32 bits. */
static uint32_t squash_bits(uint64_t x)
{
    x &= 0x5555555555555555ULL;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

int geohash_encode(const geo_range *lon_r, const geo_range *lat_r, double longitude,
                   double latitude, uint8_t step, geo_hash *out)
{
    if (step > 32 || step == 0) return 0;
    if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX ||
        latitude < GEO_LAT_MIN)
        return 0;
    out->bits = 0;
    out->step = step;
    if (latitude < lat_r->min || latitude > lat_r->max || longitude < lon_r->min ||
        longitude > lon_r->max)
        return 0;
    double lat_offset = (latitude - lat_r->min) / (lat_r->max - lat_r->min);
    double lon_offset = (longitude - lon_r->min) / (lon_r->max - lon_r->min);
    lat_offset *= (double)(1ULL << step);
    lon_offset *= (double)(1ULL << step);
    out->bits = spread_bits((uint32_t)lat_offset) | (spread_bits((uint32_t)lon_offset) << 1);
    return 1;
}

int geohash_encode_wgs84(double longitude, double latitude, uint8_t step, geo_hash *out)
{
    return geohash_encode(&lon_wgs84, &lat_wgs84, longitude, latitude, step, out);
}

uint64_t geohash_align52(geo_hash h) { return h.bits << (52 - h.step * 2); }

/* The bounds of a cell. */
static void decode_area(geo_hash h, geo_area *a)
{
    uint32_t ilat = squash_bits(h.bits), ilon = squash_bits(h.bits >> 1);
    double lat_scale = lat_wgs84.max - lat_wgs84.min;
    double lon_scale = lon_wgs84.max - lon_wgs84.min;
    double cells = (double)(1ULL << h.step);
    a->hash = h;
    a->latitude.min = lat_wgs84.min + (ilat * 1.0 / cells) * lat_scale;
    a->latitude.max = lat_wgs84.min + ((ilat + 1) * 1.0 / cells) * lat_scale;
    a->longitude.min = lon_wgs84.min + (ilon * 1.0 / cells) * lon_scale;
    a->longitude.max = lon_wgs84.min + ((ilon + 1) * 1.0 / cells) * lon_scale;
}

int geohash_decode_score(double score, double xy[2])
{
    if (!(score >= 0) || score >= 18446744073709551616.0) return 0;
    geo_area a;
    decode_area((geo_hash){(uint64_t)score, GEO_STEP_MAX}, &a);
    xy[0] = (a.longitude.min + a.longitude.max) / 2;
    if (xy[0] > GEO_LONG_MAX) xy[0] = GEO_LONG_MAX;
    if (xy[0] < GEO_LONG_MIN) xy[0] = GEO_LONG_MIN;
    xy[1] = (a.latitude.min + a.latitude.max) / 2;
    if (xy[1] > GEO_LAT_MAX) xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN) xy[1] = GEO_LAT_MIN;
    return 1;
}

/* Move a cell by one along longitude (the odd bits) or latitude (the
 * even bits), wrapping around. */
static geo_hash move_cell(geo_hash h, int dlon, int dlat)
{
    unsigned shift = 64 - h.step * 2;
    if (dlon) {
        uint64_t x = h.bits & 0xaaaaaaaaaaaaaaaaULL, y = h.bits & 0x5555555555555555ULL;
        uint64_t zz = 0x5555555555555555ULL >> shift;
        x = dlon > 0 ? x + (zz + 1) : (x | zz) - (zz + 1);
        x &= 0xaaaaaaaaaaaaaaaaULL >> shift;
        h.bits = x | y;
    }
    if (dlat) {
        uint64_t x = h.bits & 0xaaaaaaaaaaaaaaaaULL, y = h.bits & 0x5555555555555555ULL;
        uint64_t zz = 0xaaaaaaaaaaaaaaaaULL >> shift;
        y = dlat > 0 ? y + (zz + 1) : (y | zz) - (zz + 1);
        y &= 0x5555555555555555ULL >> shift;
        h.bits = x | y;
    }
    return h;
}

static int steps_for_radius(double range_meters, double lat)
{
    if (range_meters == 0) return 26;
    int step = 1;
    while (range_meters < MERCATOR_MAX) {
        range_meters *= 2;
        step++;
    }
    step -= 2; /* make sure the range is included in most of the cases */
    /* Cells are narrower towards the poles. */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > 26) step = 26;
    return step;
}

/* min lon, min lat, max lon, max lat of the shape. */
static void bounding_box(const geo_shape *s, double b[4])
{
    double lon = s->xy[0], lat = s->xy[1];
    int circle = s->type == GEO_SHAPE_CIRCLE;
    double height = s->conversion * (circle ? s->radius : s->height / 2);
    double width = s->conversion * (circle ? s->radius : s->width / 2);
    const double lat_delta = RAD_TO_DEG(height / EARTH_RADIUS_M);
    const double lon_delta_top =
        RAD_TO_DEG(width / EARTH_RADIUS_M / cos(DEG_TO_RAD(lat + lat_delta)));
    const double lon_delta_bottom =
        RAD_TO_DEG(width / EARTH_RADIUS_M / cos(DEG_TO_RAD(lat - lat_delta)));
    /* The hemispheres widen in opposite directions. */
    int south = lat < 0;
    b[0] = south ? lon - lon_delta_bottom : lon - lon_delta_top;
    b[2] = south ? lon + lon_delta_bottom : lon + lon_delta_top;
    b[1] = lat - lat_delta;
    b[3] = lat + lat_delta;
}

enum { N_CENTER, N_NORTH, N_SOUTH, N_EAST, N_WEST, N_NE, N_NW, N_SE, N_SW };

static void fill_cells(geo_hash h, geo_hash *c)
{
    c[N_CENTER] = h;
    c[N_NORTH] = move_cell(h, 0, 1);
    c[N_SOUTH] = move_cell(h, 0, -1);
    c[N_EAST] = move_cell(h, 1, 0);
    c[N_WEST] = move_cell(h, -1, 0);
    c[N_NE] = move_cell(h, 1, 1);
    c[N_NW] = move_cell(h, -1, 1);
    c[N_SE] = move_cell(h, 1, -1);
    c[N_SW] = move_cell(h, -1, -1);
}

void geohash_search_area(const geo_shape *s, geo_search_area *out)
{
    double b[4];
    bounding_box(s, b);
    double min_lon = b[0], min_lat = b[1], max_lon = b[2], max_lat = b[3];
    double lon = s->xy[0], lat = s->xy[1];
    /* A box is covered from its centre to a corner. */
    double radius_m =
        s->type == GEO_SHAPE_CIRCLE
            ? s->radius
            : sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2));
    radius_m *= s->conversion;

    int steps = steps_for_radius(radius_m, lat);
    geo_hash h;
    geo_area area, n, so, e, w;
    geo_hash *c = out->cells;
    geohash_encode_wgs84(lon, lat, (uint8_t)steps, &h);
    fill_cells(h, c);
    decode_area(h, &area);

    /* Near the edge of the centre cell the neighbours may not reach far
     * enough: take one step less then. */
    decode_area(c[N_NORTH], &n);
    decode_area(c[N_SOUTH], &so);
    decode_area(c[N_EAST], &e);
    decode_area(c[N_WEST], &w);
    int decrease = n.latitude.max < max_lat || so.latitude.min > min_lat ||
                   e.longitude.max < max_lon || w.longitude.min > min_lon;
    if (steps > 1 && decrease) {
        steps--;
        geohash_encode_wgs84(lon, lat, (uint8_t)steps, &h);
        fill_cells(h, c);
        decode_area(h, &area);
    }

    /* Drop the neighbours that cannot hold a match. */
    static const geo_hash none = {0, 0};
    if (steps >= 2) {
        if (area.latitude.min < min_lat) c[N_SOUTH] = c[N_SW] = c[N_SE] = none;
        if (area.latitude.max > max_lat) c[N_NORTH] = c[N_NE] = c[N_NW] = none;
        if (area.longitude.min < min_lon) c[N_WEST] = c[N_SW] = c[N_NW] = none;
        if (area.longitude.max > max_lon) c[N_EAST] = c[N_SE] = c[N_NE] = none;
    }
}

static double lat_distance(double lat1, double lat2)
{
    return EARTH_RADIUS_M * fabs(DEG_TO_RAD(lat2) - DEG_TO_RAD(lat1));
}

double geohash_distance(double lon1d, double lat1d, double lon2d, double lat2d)
{
    double lon1r = DEG_TO_RAD(lon1d), lon2r = DEG_TO_RAD(lon2d);
    double v = sin((lon2r - lon1r) / 2);
    /* The same meridian: the latitude difference is the distance. */
    if (v == 0.0) return lat_distance(lat1d, lat2d);
    double lat1r = DEG_TO_RAD(lat1d), lat2r = DEG_TO_RAD(lat2d);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS_M * asin(sqrt(a));
}

int geohash_in_shape(const geo_shape *s, double x2, double y2, double *distance)
{
    double x1 = s->xy[0], y1 = s->xy[1];
    if (s->type == GEO_SHAPE_CIRCLE) {
        *distance = geohash_distance(x1, y1, x2, y2);
        return *distance <= s->radius * s->conversion;
    }
    double width_m = s->width * s->conversion, height_m = s->height * s->conversion;
    /* The latitude test is the cheaper one: first. */
    if (lat_distance(y2, y1) > height_m / 2) return 0;
    if (geohash_distance(x2, y2, x1, y2) > width_m / 2) return 0;
    *distance = geohash_distance(x1, y1, x2, y2);
    return 1;
}
