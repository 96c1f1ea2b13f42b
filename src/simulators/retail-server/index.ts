/** The Retail Server simulator: the server, its data types and record builders. */
export { startRetailServerSimulator } from './server';
export { buildSimulatorData, cartRecord, channelRecord, customerRecord, productRecord, DEFAULT_CHANNEL_ID } from './records';
export type { CartLineSpec, CartSpec } from './records';
export type {
  RawRecord,
  RecordedRequest,
  RetailServerSimulator,
  RetailServerSimulatorOptions,
  ScriptedResponse,
  SimulatorData,
  SimulatorEndpoint,
} from './types';
