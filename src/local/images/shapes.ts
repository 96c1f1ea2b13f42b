/**
 * Signed distance functions for the shape on a product tile: negative inside, positive outside,
 * in pixels. Drawing by distance gives anti-aliased edges for the price of one clamp per pixel
 * (coverage = 0.5 - distance), so small thumbnails still look smooth without supersampling.
 * `x` grows to the right and `y` grows downwards, as in the image; `size` is the shape's radius.
 */

export type ShapeKind = 'circle' | 'rounded-square' | 'diamond' | 'triangle' | 'ring' | 'hexagon';

export const SHAPE_KINDS: readonly ShapeKind[] = ['circle', 'rounded-square', 'diamond', 'triangle', 'ring', 'hexagon'];

export type DistanceFunction = (x: number, y: number, size: number) => number;

/**
 * Math's functions as module constants: under jest, code runs in a vm context where every lookup
 * of a global such as `Math` goes through the context's interceptor, which made the per-pixel
 * loops thirty times slower than in plain Node.
 */
const { abs, max, min, sign, sqrt } = Math;

const SQRT3 = sqrt(3);
const SQRT2 = Math.SQRT2;

/** Math.hypot is careful about overflow and several times slower; pixel distances never overflow. */
function length(x: number, y: number): number {
  return sqrt(x * x + y * y);
}

function circle(x: number, y: number, size: number): number {
  return length(x, y) - size;
}

function roundedSquare(x: number, y: number, size: number): number {
  const half = size * 0.85;
  const corner = size * 0.22;
  const qx = abs(x) - half + corner;
  const qy = abs(y) - half + corner;
  return length(max(qx, 0), max(qy, 0)) + min(max(qx, qy), 0) - corner;
}

function diamond(x: number, y: number, size: number): number {
  return (abs(x) + abs(y) - size * 1.1) / SQRT2;
}

/** An equilateral triangle pointing up, its centroid a little below the centre so it looks centred. */
function triangle(x: number, y: number, size: number): number {
  const r = size * 1.1;
  let px = abs(x) - r;
  let py = -(y - size * 0.2) + r / SQRT3;
  if (px + SQRT3 * py > 0) {
    const nx = (px - SQRT3 * py) / 2;
    const ny = (-SQRT3 * px - py) / 2;
    px = nx;
    py = ny;
  }
  px -= min(max(px, -2 * r), 0);
  return -length(px, py) * sign(py);
}

function ring(x: number, y: number, size: number): number {
  return abs(length(x, y) - size * 0.72) - size * 0.28;
}

function hexagon(x: number, y: number, size: number): number {
  const kx = -0.866025404;
  const ky = 0.5;
  const kz = 0.577350269;
  let px = abs(x);
  let py = abs(y);
  const dot = min(kx * px + ky * py, 0);
  px -= 2 * dot * kx;
  py -= 2 * dot * ky;
  const r = size * 0.95;
  px -= min(max(px, -kz * r), kz * r);
  py -= r;
  return length(px, py) * sign(py);
}

export const DISTANCE: Readonly<Record<ShapeKind, DistanceFunction>> = {
  circle,
  'rounded-square': roundedSquare,
  diamond,
  triangle,
  ring,
  hexagon,
};
