import type { IEmailProvider } from '../../src/providers/email-provider';
import { createEmarsysProvider, type EmarsysProviderOptions } from '../../src/providers/emarsys';
import { startEmarsysStandIn, type EmarsysStandIn } from '../../src/simulators/emarsys';
import { captureLog, manualClock, midRandom, notifications, recordingSleep, type CapturedLog, type ManualClock } from './emarsys-fixtures';

/**
 * Emarsys (accounts with Interactions advanced features) answers an external event trigger with
 * HTTP 200, replyCode 0 and `data.connectedTo: false` (or every flag false) when the event is
 * connected to no executable program or email campaign: nothing was sent. Accounts without those
 * features get HTTP 400 "No program or campaign is triggered" for the same situation, which the
 * provider already fails (retryably). The 200 form must not be recorded as "sent".
 * Emarsys Core API reference, "Trigger an External Event" (POST /v2/event/{eventId}/trigger), section
 * "Types of 200 OK messages", responses 200(c)/200(d), as captured in
 * https://raw.githubusercontent.com/api-evangelist/emarsys/refs/heads/main/openapi/emarsys-event-api-openapi.yml
 */

const userName = 'acme_api001';
const secret = 'wsse-secret-4e1c0b9a77d2';
const eventId = '4711';

let standIn: EmarsysStandIn;
let clock: ManualClock;
let log: CapturedLog;

function provider(overrides: Partial<EmarsysProviderOptions> = {}): IEmailProvider {
  return createEmarsysProvider({
    apiUrl: standIn.apiUrlTemplate,
    externalEventId: eventId,
    auth: { mode: 'wsse', userName, secret },
    clock,
    sleep: recordingSleep().sleep,
    random: midRandom,
    logger: log.logger,
    ...overrides,
  });
}

beforeEach(async () => {
  clock = manualClock('2024-05-01T10:00:00Z');
  log = captureLog();
  standIn = await startEmarsysStandIn({ auth: { mode: 'wsse', userName, secret }, clock });
});

afterEach(async () => {
  await standIn.close();
});

test.each([
  ['connectedTo: false', false],
  ['connectedTo with every flag false', { email: false, acProgram: false, interactionsProgram: false }],
])('a 200 whose %s (no program or campaign triggered) is not recorded as sent', async (_label, connectedTo) => {
  const batch = notifications(2);
  // The batch reply of an account with Interactions advanced features (200(d)): nothing is connected.
  standIn.failNext([
    {
      status: 200,
      rawBody: JSON.stringify({ replyCode: 0, replyText: 'OK', data: { ids: [], errors: [], connectedTo } }),
    },
  ]);
  const outcomes = await provider().send(batch);
  expect(standIn.deliveries).toHaveLength(0);
  // Nothing was sent; a later run must be able to try again once the program is launched.
  for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'failed', retryable: true });
});
