import { readFileSync } from 'node:fs';
import { toError } from '../src/shared/errors';
import { serveLedgerCall } from './ipc-ledger';
import { isMessage, type FromStandIns, type ToStandIns } from './protocol';
import { startStandIns, type StandIns } from './stand-ins';

/**
 * The stand-ins in a process of their own, started by the job process: the servers answer here,
 * on this process's CPU and in its memory, so what the job process measures is the job alone.
 * It also hosts the modeled store and serves its calls over IPC.
 */

function send(message: FromStandIns): void {
  process.send?.(message);
}

let standIns: StandIns | undefined;
/** CPU is counted from when the stand-ins are ready: generating the store is not serving the job. */
let cpuAtReady = process.cpuUsage();

process.on('message', (message: unknown) => {
  if (!isMessage<ToStandIns>(message)) return;
  switch (message.kind) {
    case 'start':
      void start(message);
      return;
    case 'ledger-call': {
      const ledger = standIns?.ledger;
      if (!ledger) {
        send({ kind: 'ledger-answer', id: message.id, stats: { requests: 0, reads: 0, writes: 0, retries: 0 }, error: { name: 'Error', message: 'no modeled store here' } });
        return;
      }
      void serveLedgerCall(ledger, message).then(send);
      return;
    }
    case 'summary': {
      if (!standIns) return;
      const cpu = process.cpuUsage(cpuAtReady);
      send({ kind: 'summary', summary: { ...standIns.summary(), cpuMs: (cpu.user + cpu.system) / 1000 } });
      return;
    }
    case 'stop':
      void (standIns?.close() ?? Promise.resolve()).finally(() => process.exit(0));
      return;
  }
});

// The job process is our only reason to exist.
process.on('disconnect', () => process.exit(0));

async function start(message: Extract<ToStandIns, { kind: 'start' }>): Promise<void> {
  try {
    const tls = { key: readFileSync(message.tls.keyPath, 'utf8'), cert: readFileSync(message.tls.certPath, 'utf8') };
    standIns = await startStandIns(message.config, tls);
    cpuAtReady = process.cpuUsage();
    send({ kind: 'ready', endpoints: standIns.endpoints, cartsInWindow: standIns.cartsInWindow });
  } catch (error) {
    send({ kind: 'failed', message: toError(error).message });
  }
}
