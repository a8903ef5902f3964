/**
 * `near` (http://hl7.org/fhir/R4/search.html#special, Location-near) on `search_position` rows:
 * the great-circle (haversine) distance on a sphere of the Earth's mean radius is at most the
 * radius. A bounding box in latitude and longitude comes first, so the lookup index
 * (resource_type, param, latitude, longitude) narrows the rows before any trigonometry.
 *
 * The box is exact for a spherical cap: the latitude band is ± the angular radius; the longitude
 * half-width is asin(sin(angular radius) / cos(latitude)). A circle that reaches a pole covers
 * every longitude there, so its box is the band alone; one that crosses the antimeridian gets a
 * longitude range that wraps (two ranges, ORed). The sphere, not the WGS84 ellipsoid, is the
 * model: distances are within ±0.5% of geodesic ones, which the spec allows ("servers may search
 * using various techniques that might have differing accuracies").
 */
import type { NearValue, SearchFilter } from '@concordia/fhir';
import { joinSql, type Sql, sql } from '../sql.ts';
import type { SearchScope } from './search-scope.ts';

type NearFilter = Extract<SearchFilter, { kind: 'near' }>;

/** IUGG mean Earth radius, metres. */
const EARTH_RADIUS_METRES = 6_371_008.8;

/** Widens the box by about 1 cm, so float rounding never drops a point the exact test keeps. */
const BOX_MARGIN_DEGREES = 1e-7;

export function nearCondition(filter: NearFilter, scope: SearchScope): Sql {
  const { row } = scope;
  const values = filter.values.map(withinRadius);
  return sql`exists (select 1 from search_position p
    where p.resource_type = ${row}.resource_type and p.id = ${row}.id and p.param = ${scope.param(filter.code)}
    and ${values.length === 0 ? sql`false` : sql`(${joinSql(values, ' or ')})`})`;
}

function withinRadius(value: NearValue): Sql {
  const { latitude, longitude, radiusMetres } = value;
  const angular = radiusMetres / EARTH_RADIUS_METRES;
  // A radius of half the circumference or more reaches every point.
  if (angular >= Math.PI) return sql`true`;
  const distance = distanceMetres(sql`p`, latitude, longitude);
  return sql`(${boundingBox(latitude, longitude, angular)} and ${distance} <= ${radiusMetres}::float8)`;
}

/** Great-circle (haversine) distance in metres from the `search_position` row `position` to a point. */
export function distanceMetres(position: Sql, latitude: number, longitude: number): Sql {
  return sql`2 * ${EARTH_RADIUS_METRES}::float8 * asin(least(1, sqrt(
      power(sin(radians(${position}.latitude - ${latitude}::float8) / 2), 2)
      + cos(radians(${latitude}::float8)) * cos(radians(${position}.latitude))
        * power(sin(radians(${position}.longitude - ${longitude}::float8) / 2), 2))))`;
}

/**
 * `_sort=near` (closest first) and `-near`: a Location's distance is that of its position to the
 * closest point of the `near` values, as the location-distance extension defines it
 * (http://hl7.org/fhir/StructureDefinition/location-distance), in metres.
 */
export function nearDistanceKey(filter: NearFilter): Sql {
  const distances = filter.values.map((value) => distanceMetres(sql`v`, value.latitude, value.longitude));
  const [only] = distances;
  const closest =
    distances.length === 1 && only !== undefined ? only : sql`least(${joinSql(distances, ', ')})`;
  return sql`(select min(${closest})::numeric from search_position v
    where v.resource_type = r0.resource_type and v.id = r0.id and v.param = ${filter.code})`;
}

/** Latitude and longitude conditions that every point within `angular` radians satisfies. */
function boundingBox(latitude: number, longitude: number, angular: number): Sql {
  const span = degrees(angular) + BOX_MARGIN_DEGREES;
  const south = latitude - span;
  const north = latitude + span;
  if (south <= -90 || north >= 90) {
    // The circle holds a pole: every longitude, and the band from the other edge to the pole.
    return sql`p.latitude between ${Math.max(south, -90)}::float8 and ${Math.min(north, 90)}::float8`;
  }
  const halfWidth = degrees(Math.asin(Math.sin(angular) / Math.cos(radians(latitude)))) + BOX_MARGIN_DEGREES;
  const west = longitude - halfWidth;
  const east = longitude + halfWidth;
  const band = sql`p.latitude between ${south}::float8 and ${north}::float8`;
  if (west < -180) {
    return sql`(${band} and (p.longitude >= ${west + 360}::float8 or p.longitude <= ${east}::float8))`;
  }
  if (east > 180) {
    return sql`(${band} and (p.longitude >= ${west}::float8 or p.longitude <= ${east - 360}::float8))`;
  }
  return sql`(${band} and p.longitude between ${west}::float8 and ${east}::float8)`;
}

function degrees(radians: number): number {
  return (radians * 180) / Math.PI;
}

function radians(degrees: number): number {
  return (degrees * Math.PI) / 180;
}
