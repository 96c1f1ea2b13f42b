/** A local stand-in for the Emarsys external event API, for tests, the local run and benchmarks. */
export {
  startEmarsysStandIn,
  type EmarsysStandIn,
  type EmarsysStandInAuth,
  type EmarsysStandInOptions,
  type RecordedRequest,
  type ScriptedResponse,
} from './stand-in';
export { MAX_CONTACTS_PER_TRIGGER, type Delivery } from './trigger';
export { parseWsseHeader, WSSE_MAX_SKEW_MS } from './wsse-verifier';
