import { hashString, seededRandom } from '../random';
import { hsl, mix, type Rgb } from './colour';
import { DISTANCE, SHAPE_KINDS, type ShapeKind } from './shapes';

/**
 * The picture the local image server returns for a product image path: a tile with a soft
 * gradient background, a darker frame, and a shape standing on its shadow, all chosen from a hash
 * of the file name. Different products look different, the same product looks the same at every
 * size, and no text is drawn (so nothing depends on fonts).
 */

/** Module constants rather than `Math.x` in the per-pixel loop: see the note in shapes.ts. */
const { abs, floor, max, min, round } = Math;

export interface TileDesign {
  top: Rgb;
  bottom: Rgb;
  frame: Rgb;
  shape: ShapeKind;
  fill: Rgb;
  /** A second fill colour for diagonal stripes, or undefined for a plain shape. */
  stripes: Rgb | undefined;
  shadow: Rgb;
}

export function designFor(fileName: string): TileDesign {
  const random = seededRandom(hashString(fileName));
  const hue = random.int(0, 359);
  const shapeHue = hue + random.int(140, 220);
  const fill = hsl(shapeHue, random.between(0.45, 0.7), random.between(0.42, 0.55));
  return {
    top: hsl(hue, 0.4, 0.93),
    bottom: hsl(hue, 0.35, 0.82),
    frame: hsl(hue, 0.3, 0.55),
    shape: random.pick(SHAPE_KINDS),
    fill,
    stripes: random.chance(0.35) ? hsl(shapeHue, 0.5, 0.75) : undefined,
    shadow: hsl(hue, 0.25, 0.45),
  };
}

/** Width of the frame, in pixels: thin but visible at every size. */
function frameWidth(side: number): number {
  return max(1, round(side * 0.025));
}

/**
 * Paints the tile into an RGBA buffer of exactly width × height pixels (alpha always 255). The
 * inner loop works on plain numbers (no colour tuples) and runs the shape's distance function only
 * inside its box, which keeps a 600×600 tile at a few milliseconds.
 */
export function renderTile(design: TileDesign, width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 4);
  const side = min(width, height);
  const size = side * 0.3;
  const centreX = width / 2;
  const centreY = height * 0.46;
  const distance = DISTANCE[design.shape];
  const frame = frameWidth(side);
  const shadowY = centreY + size * 1.2;
  const shadowRx = size * 0.95;
  const shadowRy = max(size * 0.16, 1);
  const stripeWidth = max(2, side * 0.05);
  const reach = size * 1.25 + 2;
  const [fillR, fillG, fillB] = design.fill;
  const [stripeR, stripeG, stripeB] = design.stripes ?? design.fill;
  const [shadowR, shadowG, shadowB] = design.shadow;
  const [frameR, frameG, frameB] = design.frame;

  for (let y = 0; y < height; y++) {
    const [rowR, rowG, rowB] = mix(design.top, design.bottom, height > 1 ? y / (height - 1) : 0);
    const py = y + 0.5;
    const dy = py - centreY;
    const sdy = (py - shadowY) / shadowRy;
    const inFrameRow = y < frame || y >= height - frame;
    for (let x = 0; x < width; x++) {
      const offset = (y * width + x) * 4;
      pixels[offset + 3] = 255;
      if (inFrameRow || x < frame || x >= width - frame) {
        pixels[offset] = frameR;
        pixels[offset + 1] = frameG;
        pixels[offset + 2] = frameB;
        continue;
      }
      const px = x + 0.5;
      let r = rowR;
      let g = rowG;
      let b = rowB;
      const sdx = (px - centreX) / shadowRx;
      const shadowReach = sdx * sdx + sdy * sdy;
      if (shadowReach < 1) {
        const amount = 0.35 * min(1, (1 - shadowReach) * 2);
        r += (shadowR - r) * amount;
        g += (shadowG - g) * amount;
        b += (shadowB - b) * amount;
      }
      const dx = px - centreX;
      if (abs(dx) < reach && abs(dy) < reach) {
        const coverage = min(1, max(0, 0.5 - distance(dx, dy, size)));
        if (coverage > 0) {
          const striped = floor((px + py) / stripeWidth) % 2 === 1;
          r += ((striped ? stripeR : fillR) - r) * coverage;
          g += ((striped ? stripeG : fillG) - g) * coverage;
          b += ((striped ? stripeB : fillB) - b) * coverage;
        }
      }
      pixels[offset] = round(r);
      pixels[offset + 1] = round(g);
      pixels[offset + 2] = round(b);
    }
  }
  return pixels;
}
