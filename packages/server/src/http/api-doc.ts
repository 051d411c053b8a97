/**
 * Renders docs/api.md from the route declarations themselves: the same schemas that
 * validate requests describe them, and a test fails when the committed file differs.
 */
import { DEFAULT_BODY_LIMIT_BYTES } from '../config/defaults.js';
import type { AnyRoute } from './route-def.js';
import { renderWebSocketSection } from './api-doc-websocket.js';

interface JsonSchema {
  type?: string;
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  description?: string;
}

function typeName(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.anyOf !== undefined) return s.anyOf.map(typeName).join(' \\| ');
  if (s.type === 'array') return `${s.items === undefined ? 'unknown' : typeName(s.items)}[]`;
  return s.type ?? 'unknown';
}

function constraints(s: JsonSchema): string {
  const out: string[] = [];
  if (s.minLength !== undefined || s.maxLength !== undefined)
    out.push(`length ${s.minLength ?? 0}–${s.maxLength ?? '∞'}`);
  if (s.minimum !== undefined || s.maximum !== undefined)
    out.push(`${s.minimum ?? '−∞'}–${s.maximum ?? '∞'}`);
  if (s.minItems !== undefined || s.maxItems !== undefined)
    out.push(`${s.minItems ?? 0}–${s.maxItems ?? '∞'} items`);
  if (s.pattern !== undefined) out.push(`\`${s.pattern.replaceAll('|', '\\|')}\``);
  return out.join(', ');
}

function fieldRows(schema: JsonSchema, prefix: string, out: string[]): void {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  for (const [name, s] of Object.entries(props)) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    const desc = (s.description ?? '').replaceAll('|', '\\|');
    out.push(
      `| \`${path}\` | ${typeName(s)} | ${required.has(name) ? 'yes' : 'no'} | ${constraints(s)} | ${desc} |`,
    );
    if (s.type === 'object') fieldRows(s, path, out);
    if (s.type === 'array' && s.items?.type === 'object') fieldRows(s.items, `${path}[]`, out);
  }
}

function table(title: string, schema: JsonSchema | undefined): string[] {
  if (schema === undefined) return [];
  const rows: string[] = [];
  fieldRows(schema, '', rows);
  if (rows.length === 0) return [`${title}: none.`, ''];
  return [
    `${title}:`,
    '',
    '| field | type | required | limits | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

const COMMON = `Every response is JSON. Errors have the shape \`{"error": {"code": "…", "message": "…"}}\`; the codes
and their HTTP statuses are listed in [errors.md](errors.md). Bytes travel as unpadded base64url; times are
milliseconds since the Unix epoch. Unknown properties are refused, never ignored.

Every route may also answer \`RATE_LIMITED\` and \`INTERNAL\`; routes with a body \`MALFORMED_JSON\`,
\`INVALID_REQUEST\`, \`BODY_TOO_LARGE\` and \`UNSUPPORTED_MEDIA_TYPE\`; device routes (those with a role list)
\`AUTH_REQUIRED\`, \`TOKEN_INVALID\`, \`TOKEN_EXPIRED\`, \`TOKEN_DEVICE_MISMATCH\`, \`DEVICE_REVOKED\`,
\`WRONG_ORG\` and \`ROLE_FORBIDDEN\`. Device routes need two headers: \`Authorization: Bearer <token>\` and
\`Custos-Device: <deviceId>\` (the token must have been issued to that device). Unknown paths answer a
bland \`404 NOT_FOUND\`.`;

/** The "Who" of one route: a device of the role officer must be bound unless the route says not (auth-guard.ts). */
function who(access: AnyRoute['access']): string {
  if (access.kind === 'public') return 'anyone (no token)';
  const roles = `devices with role ${access.roles.join(', ')}`;
  const bound =
    access.roles.includes('officer') && access.unboundOfficers !== true
      ? " (an officer's device only when bound to a listed officer key: OFFICER_NOT_BOUND, docs/officers.md §2)"
      : '';
  const handIn =
    access.handIn === true
      ? '; also a revoked device during its archive hand-in window (server setting `archiveHandInDays`, docs/threat-model.md)'
      : '';
  return `${roles}${bound}${handIn}`;
}

/** Markdown for the given routes. */
export function renderApiDoc(routes: readonly AnyRoute[]): string {
  const lines = [
    '# Custos server HTTP API',
    '',
    '<!-- Generated from the route schemas by packages/server/src/http/api-doc.ts. Do not edit by hand:',
    '     run `CUSTOS_UPDATE_DOCS=1 npx vitest run packages/server/src/http/api-doc.test.ts`. -->',
    '',
    COMMON,
    '',
    ...renderWebSocketSection(),
    '## Routes',
    '',
    '| method | path | who |',
    '|---|---|---|',
    ...routes.map(
      (r) =>
        `| ${r.method} | [\`${r.url}\`](#${anchor(r)}) | ${r.access.kind === 'public' ? 'anyone' : r.access.roles.join(', ')}${r.access.kind === 'device' && r.access.handIn === true ? ' (and revoked, to hand in)' : ''} |`,
    ),
    '',
  ];
  for (const r of routes) {
    lines.push(`### ${r.method} ${r.url}`, '', r.summary, '');
    lines.push(`- Who: ${who(r.access)}`);
    if (r.body !== undefined) lines.push(`- Body limit: ${r.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES} bytes`);
    lines.push(`- Success: ${r.response.status}`);
    if (r.errors.length > 0)
      lines.push(`- Errors (beyond the common ones): ${r.errors.map((e) => `\`${e}\``).join(', ')}`);
    lines.push('');
    lines.push(...table('Path parameters', r.params));
    lines.push(...table('Query', r.query));
    lines.push(...table('Body', r.body));
    lines.push(...table(`Response ${r.response.status}`, r.response.schema));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function anchor(r: AnyRoute): string {
  return `${r.method} ${r.url}`
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replaceAll(' ', '-');
}
