import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPreviewProvider, writePreviewIndex } from '../../src/providers/preview';
import { fixedClock } from '../../src/shared/clock';
import { captureLog } from './emarsys-fixtures';
import { germanCart, hostileCart, japaneseCart, notificationOf } from './preview-fixtures';

const NBSP = '\u00a0';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'preview-provider-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function rowsOf(indexHtml: string): string[] {
  return indexHtml.match(/<tr class="email-row">[\s\S]*?<\/tr>/g) ?? [];
}

describe('preview provider', () => {
  it('writes each email as HTML and as the provider payload, and answers sent with the file name', async () => {
    const outDir = path.join(root, 'out', 'emails');
    const log = captureLog();
    const provider = createPreviewProvider({ outDir, logger: log.logger, clock: fixedClock('2024-05-01T10:00:00Z') });
    const batch = [germanCart(), hostileCart()];

    const outcomes = await provider.send(batch);

    expect(provider.name).toBe('preview');
    expect(outcomes).toEqual([
      { triggerId: 'cart-0f3a9c2e4b', status: 'sent', providerMessageId: 'cart-0f3a9c2e4b.html' },
      { triggerId: 'cart-7d41b0aa19', status: 'sent', providerMessageId: 'cart-7d41b0aa19.html' },
    ]);
    expect((await readdir(outDir)).sort()).toEqual([
      'cart-0f3a9c2e4b.html',
      'cart-0f3a9c2e4b.json',
      'cart-7d41b0aa19.html',
      'cart-7d41b0aa19.json',
      'index.html',
    ]);
    for (const notification of batch) {
      const payload: unknown = JSON.parse(await readFile(path.join(outDir, `${notification.triggerId}.json`), 'utf8'));
      expect(payload).toStrictEqual({ external_id: notification.email, trigger_id: notification.triggerId, data: notification.data });
      const html = await readFile(path.join(outDir, `${notification.triggerId}.html`), 'utf8');
      expect(html).toContain('You left something in your cart');
      expect(html).toContain(`<span class="cart-id">${notification.data.cartId}</span>`);
    }
    expect(provider.stats()).toEqual({ calls: 2, retries: 0 });
    expect(log.records).toContainEqual(expect.objectContaining({ level: 'info', message: 'preview emails written', fields: { outDir, written: 2, failed: 0 } }));
    expect(log.text()).not.toContain('juergen.mueller@example.de');
  });

  it('lists every email in index.html with its customer, cart, item count and total', async () => {
    const outDir = path.join(root, 'emails');
    const provider = createPreviewProvider({ outDir, logger: captureLog().logger, clock: fixedClock('2024-05-01T10:00:00Z') });
    await provider.send([germanCart(), hostileCart()]);

    const index = await readFile(path.join(outDir, 'index.html'), 'utf8');
    const rows = rowsOf(index);
    expect(rows).toHaveLength(2);
    const german = rows.find((row) => row.includes('Jürgen Müller')) ?? '';
    expect(german).toContain('juergen.mueller@example.de');
    expect(german).toContain('0f3a9c2e-4b11-4c7e-9d55-6f1e0c3a7b21');
    expect(german).toContain('class="num items">3</td>');
    expect(german).toContain(`class="num total">1.324,30${NBSP}€</td>`);
    expect(german).toContain('href="cart-0f3a9c2e4b.html"');
    const hostile = rows.find((row) => row.includes('Ann Lee')) ?? '';
    expect(hostile).toContain('class="num total">$83.70</td>');
    expect(index).toContain('Updated 2024-05-01 10:00 UTC.');
  });

  it('keeps listing earlier emails when a new provider over the same folder sends more, or nothing', async () => {
    const outDir = path.join(root, 'emails');
    await createPreviewProvider({ outDir, logger: captureLog().logger }).send([germanCart(), hostileCart()]);

    const second = createPreviewProvider({ outDir, logger: captureLog().logger });
    await second.send([japaneseCart()]);
    const afterSecond = await readFile(path.join(outDir, 'index.html'), 'utf8');
    expect(rowsOf(afterSecond)).toHaveLength(3);
    expect(afterSecond).toContain('<span class="count">3 emails</span>');
    for (const name of ['Jürgen Müller', 'Ann Lee', '佐藤']) expect(afterSecond).toContain(name);

    await createPreviewProvider({ outDir, logger: captureLog().logger }).send([]);
    expect(rowsOf(await readFile(path.join(outDir, 'index.html'), 'utf8'))).toHaveLength(3);
    expect(rowsOf(await readFile(await writePreviewIndex(outDir, { logger: captureLog().logger }), 'utf8'))).toHaveLength(3);
  });

  it('replaces an email sent again for the same trigger id instead of listing it twice', async () => {
    const outDir = path.join(root, 'emails');
    const provider = createPreviewProvider({ outDir, logger: captureLog().logger });
    await provider.send([germanCart()]);
    const changed = germanCart();
    changed.data.firstName = 'Jürgen-Otto';
    await provider.send([changed]);
    const index = await readFile(path.join(outDir, 'index.html'), 'utf8');
    expect(rowsOf(index)).toHaveLength(1);
    expect(index).toContain('Jürgen-Otto Müller');
  });

  it('answers failed and retryable for every notification when the folder cannot be written, without throwing', async () => {
    const outDir = path.join(root, 'not-a-folder');
    await writeFile(outDir, 'a file where the folder should be');
    const log = captureLog();
    const provider = createPreviewProvider({ outDir, logger: log.logger });

    const outcomes = await provider.send([germanCart(), hostileCart()]);

    expect(outcomes).toEqual([
      { triggerId: 'cart-0f3a9c2e4b', status: 'failed', retryable: true, reason: expect.stringContaining('could not write the email preview') },
      { triggerId: 'cart-7d41b0aa19', status: 'failed', retryable: true, reason: expect.stringContaining('could not write the email preview') },
    ]);
    expect(log.records).toContainEqual(expect.objectContaining({ level: 'error', fields: { outDir, written: 0, failed: 2 } }));
    expect(log.records).toContainEqual(expect.objectContaining({ level: 'warn', message: 'preview index could not be written' }));
  });

  it('reports one outcome per notification when only some can be written', async () => {
    const outDir = path.join(root, 'emails');
    // A folder where one email's file should go makes that one write fail.
    await mkdir(path.join(outDir, 'cart-7d41b0aa19.html'), { recursive: true });
    const provider = createPreviewProvider({ outDir, logger: captureLog().logger });

    const outcomes = await provider.send([germanCart(), hostileCart(), japaneseCart()]);

    expect(outcomes.map((outcome) => [outcome.triggerId, outcome.status])).toEqual([
      ['cart-0f3a9c2e4b', 'sent'],
      ['cart-7d41b0aa19', 'failed'],
      ['cart-c3e8f5d217', 'sent'],
    ]);
    expect(outcomes[1]).toMatchObject({ retryable: true });
    const files = await readdir(outDir);
    expect(files.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(files).not.toContain('cart-7d41b0aa19.json');
    expect(rowsOf(await readFile(path.join(outDir, 'index.html'), 'utf8'))).toHaveLength(2);
  });

  it('keeps files inside the folder whatever the trigger id, and never overwrites the index', async () => {
    const outDir = path.join(root, 'emails');
    const provider = createPreviewProvider({ outDir, logger: captureLog().logger });
    const outcomes = await provider.send([notificationOf('../../escape', {}), notificationOf('index', { firstName: 'Idx' }), notificationOf('.hidden', {})]);

    const ids = outcomes.map((outcome) => (outcome.status === 'sent' ? outcome.providerMessageId : outcome.reason));
    expect(ids).toEqual([expect.stringMatching(/^escape-[0-9a-f]{12}\.html$/), expect.stringMatching(/^index-[0-9a-f]{12}\.html$/), expect.stringMatching(/^hidden-[0-9a-f]{12}\.html$/)]);
    expect(await readdir(root)).toEqual(['emails']);
    expect(rowsOf(await readFile(path.join(outDir, 'index.html'), 'utf8'))).toHaveLength(3);
  });

  it('names every file as Windows allows, no two differing only by case, whatever the trigger id', async () => {
    // Windows refuses these characters and a trailing dot or space, reserves the device names
    // (with any extension), and ignores case: `Cart-A.html` and `cart-a.html` are one file there.
    const windowsProblems = (name: string): string[] =>
      [
        // eslint-disable-next-line no-control-regex
        /[<>:"/\\|?*\u0000-\u001f]/.test(name) && 'a character Windows forbids',
        /[. ]$/.test(name) && 'a trailing dot or space',
        /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i.test(name) && 'a reserved device name',
        name.length > 255 && 'longer than 255',
      ].filter((problem): problem is string => problem !== false);
    const ids = ['cart-0f3a9c2e4b', 'CON', 'nul', 'Aux.old', 'COM1', 'lpt9', 'Cart-A', 'cart-a', 'INDEX', 'trailing.', 'a<b>:c|d?e*f"g\u0001'];
    const outDir = path.join(root, 'emails');
    const outcomes = await createPreviewProvider({ outDir, logger: captureLog().logger }).send(ids.map((id) => notificationOf(id, {})));

    expect(outcomes.filter((outcome) => outcome.status !== 'sent')).toEqual([]);
    const names = await readdir(outDir);
    expect(names.filter((name) => windowsProblems(name).length > 0).map((name) => `${name}: ${windowsProblems(name).join(', ')}`)).toEqual([]);
    expect(new Set(names.map((name) => name.toLowerCase())).size).toBe(names.length);
    // Each email its own file, as Windows tells names apart.
    expect(new Set(names.filter((name) => name.endsWith('.html') && name !== 'index.html').map((name) => name.toLowerCase())).size).toBe(ids.length);
    expect(rowsOf(await readFile(path.join(outDir, 'index.html'), 'utf8'))).toHaveLength(ids.length);
  });

  it('leaves JSON files that are not email payloads out of the index', async () => {
    const outDir = path.join(root, 'emails');
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, 'notes.json'), '{"hello": "world"}');
    await writeFile(path.join(outDir, 'broken.json'), '{');
    const log = captureLog();
    await createPreviewProvider({ outDir, logger: log.logger }).send([germanCart()]);
    expect(rowsOf(await readFile(path.join(outDir, 'index.html'), 'utf8'))).toHaveLength(1);
    expect(log.records).toContainEqual(expect.objectContaining({ level: 'warn', fields: { outDir, skipped: 2 } }));
  });
});
