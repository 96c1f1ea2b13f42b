import { isAxiosError } from 'axios';

/**
 * Whether axios stopped reading an answer at its `maxContentLength` (the clients bound what they
 * read: a gateway streaming without end, a compressed body inflating to gigabytes). axios tells it
 * only by this code and message.
 */
export function isAnswerTooLarge(error: unknown): boolean {
  return isAxiosError(error) && error.code === 'ERR_BAD_RESPONSE' && /^maxContentLength size of \d+ exceeded$/.test(error.message);
}
