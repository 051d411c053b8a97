/**
 * Request validation with TypeBox's compiled checkers (no type coercion, no silent removal
 * of unknown properties), and error messages that name the field but never echo a value.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ServerError } from '../errors.js';

interface TypeboxError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message: string;
}

const PART_NAMES: Record<string, string> = {
  body: 'body',
  params: 'path',
  querystring: 'query',
  headers: 'header',
};

/** Turns the first meaningful schema error into a sentence naming the field. */
export function describeValidationError(part: string, errors: readonly TypeboxError[]): string {
  const name = PART_NAMES[part] ?? part;
  const e = errors.find((x) => x.keyword !== 'boolean') ?? errors[0];
  if (e === undefined) return `${name}: does not match the schema`;
  const where = `${name}${e.instancePath.replaceAll('/', '.')}`;
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params.additionalProperties as unknown[] | undefined)?.map(String) ?? [];
    return `${where}: unknown propert${extra.length === 1 ? 'y' : 'ies'} ${extra.map((p) => `'${p.slice(0, 64)}'`).join(', ')}`;
  }
  if (e.keyword === 'required') {
    const missing = (e.params.requiredProperties as unknown[] | undefined)?.map(String) ?? [];
    return `${where}: missing required ${missing.map((p) => `'${p}'`).join(', ')}`;
  }
  return `${where}: ${e.message}`;
}

/** Fastify validator compiler backed by TypeBox. */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (data: unknown) => {
    if (check.Check(data)) return { value: data };
    const errors = [...check.Errors(data)] as TypeboxError[];
    return { error: new ServerError('INVALID_REQUEST', describeValidationError(httpPart ?? 'body', errors)) };
  };
};
