/* geohash.h -- the 52-bit interleaved geohash that GEO commands store as
 * sorted-set scores, and the geometry around it, computed exactly as
 * Redis 7.0 does (same ranges, steps, neighbour boxes and distance
 * formulas) so that scores, results and distances are the same. */
#ifndef CAIRN_GEOHASH_H
#define CAIRN_GEOHASH_H

#include <stdint.h>

#define GEO_STEP_MAX 26 /* 26 * 2 = 52 bits */
#define GEO_LAT_MIN  -85.05112878
#define GEO_LAT_MAX  85.05112878
#define GEO_LONG_MIN -180.0
#define GEO_LONG_MAX 180.0

typedef struct geo_range {
    double min, max;
} geo_range;

/* A cell: its bits (latitude on even bits, longitude on odd ones) and its
 * precision in steps per axis.  bits == 0 && step == 0 means none. */
typedef struct geo_hash {
    uint64_t bits;
    uint8_t step;
} geo_hash;

typedef struct geo_area {
    geo_hash hash;
    geo_range longitude, latitude;
} geo_area;

enum { GEO_SHAPE_CIRCLE, GEO_SHAPE_BOX };

/* What a search covers: a circle (radius) or a box (width x height)
 * around xy (longitude, latitude); sizes are in units of `conversion`
 * meters. */
typedef struct geo_shape {
    int type;
    double xy[2];
    double conversion;
    double radius;
    double width, height;
} geo_shape;

/* The cells to scan for a search: the centre cell and its eight
 * neighbours (north, south, east, west, NE, NW, SE, SW), some of them
 * cleared when they cannot hold a match. */
typedef struct geo_search_area {
    geo_hash cells[9];
} geo_search_area;

/* Encode a point in the WGS84 ranges (longitude -180..180, latitude
 * -85.05..85.05); returns 0 if it lies outside. */
int geohash_encode_wgs84(double longitude, double latitude, uint8_t step, geo_hash *out);
/* Encode in the given ranges (GEOHASH re-encodes in -90..90). */
int geohash_encode(const geo_range *lon_r, const geo_range *lat_r, double longitude,
                   double latitude, uint8_t step, geo_hash *out);
/* The 52-bit score of a cell. */
uint64_t geohash_align52(geo_hash h);
/* The centre of the cell of a stored score, as longitude, latitude. */
int geohash_decode_score(double score, double xy[2]);
/* The cells covering a search shape. */
void geohash_search_area(const geo_shape *shape, geo_search_area *out);
/* Great-circle distance in meters (haversine on Redis's Earth radius). */
double geohash_distance(double lon1, double lat1, double lon2, double lat2);
/* Is point (x2, y2) within the shape?  *distance gets its distance from
 * the centre in meters. */
int geohash_in_shape(const geo_shape *shape, double x2, double y2, double *distance);

#endif
