import { planRequests } from '../../src/providers/emarsys/batching';
import {
  DEFAULT_OAUTH2_API_URL,
  DEFAULT_TOKEN_URL,
  DEFAULT_WSSE_API_URL,
  resolveEmarsysOptions,
  triggerUrl,
  type EmarsysProviderOptions,
} from '../../src/providers/emarsys/options';
import { createEmarsysProvider } from '../../src/providers/emarsys';
import { interpretTriggerReply } from '../../src/providers/emarsys/response';
import { redactEmails } from '../../src/shared/redact';
import { ConfigurationError } from '../../src/shared/errors';
import { silentLogger } from '../../src/shared/logger';

/** The pure parts: option checks, request planning and reading Emarsys replies. */

const base: EmarsysProviderOptions = {
  externalEventId: '4711',
  auth: { mode: 'wsse', userName: 'acme001', secret: 's3cret' },
  logger: silentLogger,
};

function problemsOf(options: EmarsysProviderOptions): readonly string[] {
  try {
    resolveEmarsysOptions(options);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('options', () => {
  test('defaults follow the auth mode', () => {
    expect(resolveEmarsysOptions(base)).toMatchObject({ apiUrlTemplate: DEFAULT_WSSE_API_URL, contactKeyId: 3, batchSize: 1000, timeoutMs: 30_000 });
    const oauth = resolveEmarsysOptions({ ...base, auth: { mode: 'oauth2', clientId: 'id', clientSecret: 'secret' } });
    expect(oauth.apiUrlTemplate).toBe(DEFAULT_OAUTH2_API_URL);
    expect(oauth.auth).toMatchObject({ mode: 'oauth2', tokenUrl: DEFAULT_TOKEN_URL });
  });

  test('every problem is named by its EmarsysClientOptions property, secrets never repeated', () => {
    const problems = problemsOf({
      ...base,
      apiUrl: 'https://api.emarsys.net/api/v2/event/trigger',
      externalEventId: ' ',
      contactKeyId: 0,
      batchSize: 1001,
      auth: { mode: 'wsse', userName: '', secret: '' },
    });
    expect(problems).toEqual([
      expect.stringMatching(/^EmarsysClientOptions\.ApiUrl: must contain \{0\}/),
      expect.stringMatching(/^EmarsysClientOptions\.ExternalEventId: required/),
      expect.stringMatching(/^EmarsysClientOptions\.EmarsysContactKeyId:/),
      expect.stringMatching(/^EmarsysClientOptions\.BatchSize:/),
      expect.stringMatching(/^EmarsysClientOptions\.ApiUserNameKeyVaultSecretName:/),
      expect.stringMatching(/^EmarsysClientOptions\.ApiSecretKeyVaultSecretName:/),
    ]);
    const oauth = problemsOf({ ...base, auth: { mode: 'oauth2', tokenUrl: 'not a url', clientId: '', clientSecret: 'x' } });
    expect(oauth).toEqual([
      expect.stringMatching(/^EmarsysClientOptions\.TokenUrl:/),
      expect.stringMatching(/^EmarsysClientOptions\.ClientIdKeyVaultSecretName:/),
    ]);
  });

  test('the provider refuses bad options when it is created', () => {
    expect(() => createEmarsysProvider({ ...base, externalEventId: '' })).toThrow(ConfigurationError);
    expect(() => createEmarsysProvider({ ...base, externalEventId: '' })).toThrow(/EmarsysClientOptions\.ExternalEventId/);
  });

  test('the event id is URL-encoded into every {0}', () => {
    expect(triggerUrl(DEFAULT_WSSE_API_URL, '12 3')).toBe('https://api.emarsys.net/api/v2/event/12%203/trigger');
    expect(resolveEmarsysOptions({ ...base, externalEventId: 99 }).externalEventId).toBe('99');
  });
});

describe('planRequests', () => {
  test('chunks by batch size and keeps input order', () => {
    expect(planRequests(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([[0, 1], [2, 3], [4]]);
  });

  test('a repeated address goes to a later request, compared case-insensitively', () => {
    expect(planRequests(['a@x', 'b@x', 'A@X ', 'a@x', 'c@x'], 10)).toEqual([[0, 1, 4], [2], [3]]);
  });

  test('with a byte budget, a request ends before its contacts would pass it (a contact over it goes alone)', () => {
    const sizes = [4, 3, 2, 6, 12, 1, 1];
    const budget = { maxBytes: 8, bytesOf: (index: number) => sizes[index] as number };
    expect(planRequests(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 10, budget)).toEqual([[0, 1], [2, 3], [4], [5, 6]]);
    // The batch size still bounds the count.
    expect(planRequests(['a', 'b', 'c'], 2, { maxBytes: 100, bytesOf: () => 1 })).toEqual([[0, 1], [2]]);
  });
});

describe('interpretTriggerReply', () => {
  test.each([['""'], ['[]'], ['null'], ['{}'], ['{"errors":[]}']])('success with data %s has no contact errors', (data) => {
    const reply = interpretTriggerReply(200, `{"replyCode":0,"replyText":"OK","data":${data}}`);
    expect(reply).toEqual({ kind: 'accepted', replyCode: 0, contactErrors: new Map(), unattributed: [] });
  });

  test('per-contact errors are keyed by external_id, with the contact redacted from the message', () => {
    const reply = interpretTriggerReply(
      200,
      JSON.stringify({
        replyCode: 0,
        replyText: 'OK',
        extra: true,
        data: { errors: { 'a@b.com': { '2008': 'No contact found with the external id: 3' }, 'c@d.com': { '2010': 'Bad thing for c@d.com' } } },
      }),
    );
    expect(reply.kind).toBe('accepted');
    if (reply.kind !== 'accepted') return;
    expect(reply.contactErrors.get('a@b.com')).toEqual({ codes: ['2008'], reason: expect.stringMatching(/^Emarsys 2008: No contact found with the external id: 3 \(/) });
    expect(reply.contactErrors.get('c@d.com')).toEqual({ codes: ['2010'], reason: 'Emarsys 2010: Bad thing for <contact>' });
  });

  test('a 200 whose connectedTo says the event started nothing fails the whole request; one that started something is accepted', () => {
    // Accounts with Interactions advanced features get this where others get HTTP 400 "No program or campaign is triggered".
    for (const connectedTo of ['false', '{"email":false,"acProgram":false,"interactionsProgram":false}', '{}']) {
      expect(interpretTriggerReply(200, `{"replyCode":0,"replyText":"OK","data":{"ids":[],"errors":[],"connectedTo":${connectedTo}}}`)).toEqual({
        kind: 'rejected',
        replyCode: 0,
        reason: `Emarsys took the trigger but the external event starts no executable program or email campaign (connectedTo ${connectedTo}): launch the program or campaign the external event starts, and a later run tries again`,
      });
    }
    expect(interpretTriggerReply(200, '{"replyCode":0,"replyText":"OK","data":{"connectedTo":{"email":false,"acProgram":true}}}')).toMatchObject({ kind: 'accepted' });
  });

  test('an errors array entry keyed by an address (the shape of contact list results) puts no address in the reason', () => {
    const reply = interpretTriggerReply(200, JSON.stringify({ replyCode: 0, data: { errors: [{ 'jane@example.com': { '2008': 'No contact found' } }, { '2010': 'for jane@example.com' }] } }));
    expect(reply).toMatchObject({ kind: 'accepted', unattributed: [{ codes: ['<email>'], reason: 'Emarsys <email>' }, { codes: ['2010'], reason: 'Emarsys 2010: for <email>' }] });
  });

  test('a non-zero replyCode fails the whole request, which one contact\'s data may bring about', () => {
    expect(interpretTriggerReply(400, '{"replyCode":6003,"replyText":"Invalid event id"}')).toEqual({
      kind: 'rejected',
      replyCode: 6003,
      mayBeData: true,
      reason: 'Emarsys rejected the request: HTTP 400, replyCode 6003 "Invalid event id"; EmarsysClientOptions.ExternalEventId must be the id of an external event of this account, the one your automation program or email starts on',
    });
    expect(interpretTriggerReply(200, '{"replyCode":"1","replyText":"Error"}')).toMatchObject({ kind: 'rejected', replyCode: 1, mayBeData: true });
    expect(interpretTriggerReply(422, '<html/>')).toMatchObject({ kind: 'rejected', mayBeData: true });
    // Not what a contact's data brings about: the URL, a size, the batch's length, no program.
    expect(interpretTriggerReply(404, '<html/>')).not.toHaveProperty('mayBeData');
    expect(interpretTriggerReply(413, '')).not.toHaveProperty('mayBeData');
    expect(interpretTriggerReply(400, '{"replyCode":1000,"replyText":"Too many contacts"}')).not.toHaveProperty('mayBeData');
    // A key_id that is no field of the account (documented: "The field ID does not exist"): the setting's.
    expect(interpretTriggerReply(400, '{"replyCode":2004,"replyText":"Invalid key field id: 9999"}')).toEqual({
      kind: 'rejected',
      replyCode: 2004,
      reason: 'Emarsys rejected the request: HTTP 400, replyCode 2004 "Invalid key field id: 9999"; EmarsysClientOptions.EmarsysContactKeyId must be the id of a contact field of this account (3: email)',
    });
    expect(interpretTriggerReply(200, '{"replyCode":0,"replyText":"OK","data":{"connectedTo":false}}')).not.toHaveProperty('mayBeData');
  });

  test('401 and 403 are about credentials; an HTML 404 points at the URL', () => {
    expect(interpretTriggerReply(401, '{"replyCode":1,"replyText":"Unauthorized"}')).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(interpretTriggerReply(403, '<html/>')).toMatchObject({ kind: 'unauthorized', status: 403 });
    expect(interpretTriggerReply(404, '<html>Not found</html>')).toEqual({
      kind: 'rejected',
      replyCode: undefined,
      reason: 'Emarsys rejected the request: HTTP 404; check EmarsysClientOptions.ApiUrl and ExternalEventId',
    });
  });

  test('a 2xx body that is not a reply is unreadable', () => {
    expect(interpretTriggerReply(200, 'OK')).toMatchObject({ kind: 'unreadable' });
    expect(interpretTriggerReply(200, '{"replyText":"no code"}')).toMatchObject({ kind: 'unreadable' });
  });

  test('redactEmails hides addresses and bounds the length', () => {
    expect(redactEmails('no contact jane.doe+x@example.co.uk here')).toBe('no contact <email> here');
    expect(redactEmails('x'.repeat(500))).toHaveLength(203);
  });
});
