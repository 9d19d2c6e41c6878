// axe-core (npm axe-core, pinned) run inside a page: the accessibility
// check every admin-centre page must pass with no serious or critical
// violation. The script is evaluated through the DevTools protocol, which
// the pages' Content-Security-Policy does not govern, so the pages need no
// exception for it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * seriousViolations runs axe on the page and returns the serious and
 * critical violations, each as "rule: target, …" for failure messages.
 */
export async function seriousViolations(page) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.targets.slice(0, 5).join(', ')}`);
}
