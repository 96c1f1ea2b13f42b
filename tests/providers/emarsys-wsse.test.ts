import { createHash } from 'node:crypto';
import { buildWsseHeader, createNonce, wsseCreated, wssePasswordDigest } from '../../src/providers/emarsys/wsse';
import { createWsseVerifier, parseWsseHeader } from '../../src/simulators/emarsys/wsse-verifier';
import { manualClock } from './emarsys-fixtures';

const nonce = 'd36e316282959a9ed4c89851497a717f';
const created = '2014-03-20T12:51:45Z';
const secret = 'e5e4d4ad2b6b5c6f';

describe('WSSE digest', () => {
  test('matches a vector worked out by hand: base64 of the lowercase hex SHA-1 string', () => {
    // printf '%s' "$nonce$created$secret" | sha1sum  ->  993ed406d79cfefca4c122e445c3802299140287
    // printf '%s' 993ed406d79cfefca4c122e445c3802299140287 | base64
    expect(wssePasswordDigest(nonce, created, secret)).toBe('OTkzZWQ0MDZkNzljZmVmY2E0YzEyMmU0NDVjMzgwMjI5OTE0MDI4Nw==');
  });

  test('is not the base64 of the raw digest bytes (the common mistake)', () => {
    const raw = createHash('sha1').update(nonce + created + secret).digest('base64');
    expect(wssePasswordDigest(nonce, created, secret)).not.toBe(raw);
  });

  test('the header has the exact Emarsys form', () => {
    expect(buildWsseHeader({ userName: 'acme001', secret }, nonce, created)).toBe(
      'UsernameToken Username="acme001", PasswordDigest="OTkzZWQ0MDZkNzljZmVmY2E0YzEyMmU0NDVjMzgwMjI5OTE0MDI4Nw==", ' +
        `Nonce="${nonce}", Created="${created}"`,
    );
  });

  test('Created is ISO-8601 UTC to the second and nonces are 32 fresh hex characters', () => {
    expect(wsseCreated(new Date('2024-05-01T10:00:00.789Z'))).toBe('2024-05-01T10:00:00Z');
    const nonces = new Set(Array.from({ length: 100 }, createNonce));
    expect(nonces.size).toBe(100);
    for (const value of nonces) expect(value).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('the stand-in WSSE verifier', () => {
  const clock = manualClock('2024-05-01T10:00:00Z');
  const credentials = { userName: 'acme001', secret };
  const header = (overrides: { nonce?: string; created?: string; secret?: string; userName?: string } = {}): string =>
    buildWsseHeader(
      { userName: overrides.userName ?? credentials.userName, secret: overrides.secret ?? secret },
      overrides.nonce ?? createNonce(),
      overrides.created ?? wsseCreated(clock.now()),
    );

  test('parses the header into its four fields', () => {
    expect(parseWsseHeader(buildWsseHeader(credentials, nonce, created))).toEqual({
      Username: 'acme001',
      PasswordDigest: 'OTkzZWQ0MDZkNzljZmVmY2E0YzEyMmU0NDVjMzgwMjI5OTE0MDI4Nw==',
      Nonce: nonce,
      Created: created,
    });
    expect(parseWsseHeader('Basic abc')).toBeUndefined();
    expect(parseWsseHeader('UsernameToken Username="a" garbage')).toBeUndefined();
  });

  test('accepts a good header and refuses a wrong secret, user, stale or future Created, and a reused nonce', () => {
    const verifier = createWsseVerifier(credentials, clock);
    expect(verifier.verify(header())).toEqual({ ok: true, nonce: expect.any(String) });
    expect(verifier.verify(header({ secret: 'wrong' }))).toEqual({ ok: false, reason: 'wrong PasswordDigest' });
    expect(verifier.verify(header({ userName: 'someone' }))).toEqual({ ok: false, reason: 'unknown user name' });
    expect(verifier.verify(header({ created: '2024-05-01T09:54:59Z' }))).toMatchObject({ ok: false });
    expect(verifier.verify(header({ created: '2024-05-01T10:05:01Z' }))).toMatchObject({ ok: false });
    expect(verifier.verify(header({ created: '2024-05-01T09:55:30Z' }))).toMatchObject({ ok: true });
    const once = header({ nonce: 'ffffffffffffffffffffffffffffffff' });
    expect(verifier.verify(once)).toMatchObject({ ok: true });
    expect(verifier.verify(once)).toEqual({ ok: false, reason: 'nonce used before' });
    expect(verifier.verify(undefined)).toMatchObject({ ok: false });
  });
});
