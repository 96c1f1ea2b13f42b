import { readFileSync } from 'node:fs';
import { getNodeValue, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { ConfigurationError } from '../shared/errors';

/**
 * Where raw settings come from: `appSettings.json`, then environment variables named
 * `Section__Property` (arrays: `Section__Array__0__prop`), or `Section:Property` as .NET apps on a
 * Windows plan name them, which is how Azure Functions app settings and `local.settings.json`
 * Values reach the process. Names match case-insensitively,
 * as in .NET configuration, so the sample's files work unchanged.
 */

export type RawSettings = Record<string, unknown>;

/** The sections the connector reads; environment variables for other prefixes are left alone. */
export const SECTION_NAMES = [
  'KeyVaultOptions',
  'RetailServerClientOptions',
  'AzureCosmosOptions',
  'EmarsysClientOptions',
  'MediaOptions',
] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

/**
 * A JSON file's text as .NET's configuration reads it: by its byte-order mark, so that a file
 * Windows PowerShell 5.1 wrote (`>` and `Out-File` write UTF-16) or Notepad or Visual Studio saved
 * with a mark reads as it does for the sample; UTF-8 without one.
 */
export function decodeJsonFile(bytes: Uint8Array): string {
  const encoding = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  // The decoder drops the byte-order mark itself.
  return new TextDecoder(encoding).decode(bytes);
}

/**
 * A JSON file's value as .NET's configuration reads it: `//` line and block comments and trailing
 * commas allowed (its JSON provider skips comments and takes trailing commas, so a file written
 * for the sample may hold them; host.json may too). The problem names the first error's place.
 */
export function parseJsonFile(text: string, options: { asConfiguration?: boolean } = {}): { ok: true; value: unknown } | { ok: false; problem: string } {
  const errors: ParseError[] = [];
  const parseOptions = { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false };
  const tree = parseTree(text, errors, parseOptions);
  const first = errors[0];
  if (first !== undefined || tree === undefined) {
    const offset = first?.offset ?? 0;
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return { ok: false, problem: `${first ? printParseErrorCode(first.error) : 'ValueExpected'} at line ${line}, column ${column}` };
  }
  if (!options.asConfiguration) return { ok: true, value: getNodeValue(tree) as unknown };
  const duplicates: string[] = [];
  const value = configurationValue(tree, '', duplicates);
  if (duplicates.length > 0) return { ok: false, problem: `a duplicate key ${duplicates.map((key) => `"${key}"`).join(', ')} was found (.NET refuses it too)` };
  return { ok: true, value };
}

/**
 * A JSON value as .NET's configuration reads it: keys are case-insensitive, an object given twice
 * under one key (any case) is merged, and a value given twice is a duplicate key, which .NET
 * refuses ("A duplicate key was found"), rather than the last one silently winning.
 */
function configurationValue(node: JsonNode, path: string, duplicates: string[]): unknown {
  if (node.type === 'array') return (node.children ?? []).map((child, index) => configurationValue(child, `${path}:${index}`, duplicates));
  if (node.type !== 'object') return node.value as unknown;
  const result: Record<string, unknown> = {};
  for (const property of node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    if (!keyNode || !valueNode) continue;
    const key = String(keyNode.value);
    const keyPath = path === '' ? key : `${path}:${key}`;
    mergeInto(result, key, configurationValue(valueNode, keyPath, duplicates), keyPath, duplicates);
  }
  return result;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function mergeInto(target: Record<string, unknown>, key: string, value: unknown, path: string, duplicates: string[]): void {
  const existing = Object.keys(target).find((name) => name.toLowerCase() === key.toLowerCase());
  if (existing === undefined) {
    // Defined, not assigned: a key named __proto__ stays a key.
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    return;
  }
  const earlier = target[existing];
  if (isObject(earlier) && isObject(value)) {
    for (const [name, inner] of Object.entries(value)) mergeInto(earlier, name, inner, `${path}:${name}`, duplicates);
  } else duplicates.push(path);
}

export function readSettingsFile(path: string): RawSettings {
  let text: string;
  try {
    text = decodeJsonFile(readFileSync(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigurationError([`settings file ${path}: cannot be read (${code ?? String(error)})`]);
  }
  const read = parseJsonFile(text, { asConfiguration: true });
  if (!read.ok) throw new ConfigurationError([`settings file ${path}: is not valid JSON (${read.problem})`]);
  const parsed = read.value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigurationError([`settings file ${path}: must hold a JSON object with the settings sections`]);
  }
  return parsed as RawSettings;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/** The key of `target` that matches `name` ignoring case, or `name` itself when there is none. */
function matchingKey(target: Record<string, unknown>, name: string): string {
  return Object.keys(target).find((key) => key.toLowerCase() === name.toLowerCase()) ?? name;
}

/**
 * Applies `Section__Property` variables on top of `base` (which is not modified). `aliases` maps,
 * per section, another accepted spelling of a property to its canonical one: a variable that sets a
 * property under one spelling replaces the file's value under any other (an app setting in the
 * sample's spelling overrides the file's documented one, and the other way round).
 */
export function applyEnvironmentOverrides(base: RawSettings, env: NodeJS.ProcessEnv, aliases: Partial<Record<SectionName, Record<string, string>>> = {}): RawSettings {
  const result = structuredClone<RawSettings>(base);
  /** The lower-case names that spell the same property of a section as `name`. */
  const spellingsOf = (section: SectionName, name: string): string[] => {
    const pairs = Object.entries(aliases[section] ?? {}).map(([alias, canonical]) => [alias.toLowerCase(), canonical.toLowerCase()] as const);
    const canonical = pairs.find(([alias]) => alias === name.toLowerCase())?.[1] ?? name.toLowerCase();
    return [canonical, ...pairs.filter(([, of]) => of === canonical).map(([alias]) => alias)];
  };
  const setByEnvironment = new Set<string>();
  const sections = new Map(SECTION_NAMES.map((name) => [name.toLowerCase(), name]));
  for (const [variable, value] of Object.entries(env)) {
    if (value === undefined || !/__|:/.test(variable)) continue;
    // `:` as .NET reads it: app settings on a Windows plan (and local.settings.json) may use it.
    const path = variable.split(/__|:/);
    const section = sections.get((path[0] ?? '').toLowerCase());
    if (!section || path.length < 2 || path.some((segment) => segment === '')) continue;
    let node: Record<string, unknown> = result;
    const sectionKey = matchingKey(node, section);
    const current = node[sectionKey];
    // A section the file gives as something else than an object (a list, a string) is left for
    // the settings to report as such: overriding into it would hide what the file says.
    if (current !== undefined && current !== null && (!isRecord(current) || Array.isArray(current))) continue;
    if (!isRecord(current)) node[sectionKey] = {};
    node = node[sectionKey] as Record<string, unknown>;
    for (let i = 1; i < path.length; i++) {
      const segment = path[i] as string;
      const isLast = i === path.length - 1;
      // Keys match whatever their case, as .NET configuration's do (a named entry of a list too).
      const key = matchingKey(node, segment);
      if (isLast) {
        if (i === 1 && !isBlank(value)) {
          // The file's value under another spelling would otherwise be read beside this one (and
          // of two set spellings, the documented one wins): it goes. Another variable's stays.
          const spellings = spellingsOf(section, segment);
          for (const other of Object.keys(node)) {
            if (other !== key && spellings.includes(other.toLowerCase()) && !setByEnvironment.has(`${section}.${other.toLowerCase()}`)) delete node[other];
          }
        }
        if (i === 1) setByEnvironment.add(`${section}.${key.toLowerCase()}`);
        node[key] = value;
      } else {
        // A list is kept as an object keyed by index (or name): a key such as `length` must not
        // reach a real array's own properties. The settings read lists from objects too.
        if (!isRecord(node[key])) node[key] = {};
        else if (Array.isArray(node[key])) node[key] = { ...(node[key] as unknown[]) };
        node = node[key] as Record<string, unknown>;
      }
    }
  }
  return result;
}

/**
 * Returns the section with its property names mapped onto the canonical spelling (case-insensitive,
 * plus the sample's alternative names), so the schema sees one spelling whatever the source used.
 */
export function canonicalizeKeys(
  section: unknown,
  canonicalNames: readonly string[],
  aliases: Record<string, string> = {},
  /** Collects the names no property has (a misspelling reads as the default otherwise, unnoticed). */
  unknown?: (name: string) => void,
): Record<string, unknown> {
  if (!isRecord(section) || Array.isArray(section)) return {};
  const byLowerName = new Map<string, string>();
  for (const name of canonicalNames) byLowerName.set(name.toLowerCase(), name);
  for (const [alias, name] of Object.entries(aliases)) byLowerName.set(alias.toLowerCase(), name);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section)) {
    const canonical = byLowerName.get(key.toLowerCase());
    if (canonical === undefined) {
      unknown?.(key);
      continue;
    }
    // A set value wins over a blank one whichever spelling each came in and in whatever order
    // (the sample lists every setting blank, so a blank KeyVaultURI beside a file's KeyVaultUrl must
    // not turn Key Vault off); of two set values, the canonical spelling's wins.
    const current = result[canonical];
    const isAlias = canonical.toLowerCase() !== key.toLowerCase();
    if (current === undefined || isBlank(current)) result[canonical] = value;
    else if (!isBlank(value) && !isAlias) result[canonical] = value;
  }
  return result;
}

function isBlank(value: unknown): boolean {
  return value === null || (typeof value === 'string' && value.trim() === '');
}
