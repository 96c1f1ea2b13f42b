/** The Emarsys email provider: external event triggers with WSSE or OAuth 2.0 authentication. */
export { createEmarsysProvider, EMARSYS_PROVIDER_NAME } from './emarsys-provider';
export {
  DEFAULT_CONTACT_KEY_ID,
  DEFAULT_OAUTH2_API_URL,
  DEFAULT_TOKEN_URL,
  DEFAULT_WSSE_API_URL,
  MAX_BATCH_SIZE,
  resolveEmarsysOptions,
  type EmarsysAuthOptions,
  type EmarsysProviderOptions,
  type OAuth2AuthOptions,
  type WsseAuthOptions,
} from './options';
export { buildWsseHeader, createNonce, wsseCreated, wssePasswordDigest, type WsseCredentials } from './wsse';
