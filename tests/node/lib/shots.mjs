// Screenshots at desktop (1280 px) and phone (375 px) width, for
// scripts/screenshots.
import { join } from 'node:path';

export const widths = { desktop: { width: 1280, height: 800 }, mobile: { width: 375, height: 740 } };

/** shoot writes the page at each width as DIR/{name}-{desktop,mobile}.png. */
export async function shoot(page, dir, name) {
  for (const [label, size] of Object.entries(widths)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(dir, `${name}-${label}.png`), fullPage: true });
  }
}
