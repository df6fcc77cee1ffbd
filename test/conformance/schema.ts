/**
 * A small checker for the Gmail discovery document's schemas: types, uint64/int64 strings,
 * base64url bytes, arrays, $ref, and no properties the schema does not define.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/cli.js';

interface Schema {
  type?: string;
  format?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
}

const DISCOVERY_PATH = join(PROJECT_ROOT, '..', 'shared', 'gmail-v1-discovery.json');
if (!existsSync(DISCOVERY_PATH)) {
  throw new Error(`the conformance suite needs Google's Gmail discovery document at ${DISCOVERY_PATH} (../shared beside the project, as CI lays it out); npm test does not need it.`);
}
const discovery = JSON.parse(readFileSync(DISCOVERY_PATH, 'utf8')) as { schemas: Record<string, Schema> };

export function schemaErrors(value: unknown, schemaName: string, required: string[] = []): string[] {
  const errors: string[] = [];
  const root = discovery.schemas[schemaName];
  if (!root) return [`no schema ${schemaName}`];
  check(value, root, schemaName, errors);
  for (const key of required) {
    if (typeof value !== 'object' || value === null || !(key in value)) errors.push(`${schemaName}.${key} is required`);
  }
  return errors;
}

function check(value: unknown, schema: Schema, path: string, errors: string[]): void {
  if (schema.$ref) {
    const target = discovery.schemas[schema.$ref];
    if (!target) errors.push(`${path}: unknown $ref ${schema.$ref}`);
    else check(value, target, path, errors);
    return;
  }
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        errors.push(`${path}: expected object, got ${JSON.stringify(value)?.slice(0, 40)}`);
        return;
      }
      for (const [key, v] of Object.entries(value)) {
        const sub = schema.properties?.[key] ?? schema.additionalProperties;
        if (!sub) errors.push(`${path}.${key}: not in the schema`);
        else check(v, sub, `${path}.${key}`, errors);
      }
      return;
    }
    case 'array':
      if (!Array.isArray(value)) errors.push(`${path}: expected array`);
      else value.forEach((item, i) => check(item, schema.items ?? {}, `${path}[${i}]`, errors));
      return;
    case 'string':
      if (typeof value !== 'string') errors.push(`${path}: expected string, got ${typeof value}`);
      else if ((schema.format === 'uint64' || schema.format === 'int64') && !/^-?\d+$/.test(value)) errors.push(`${path}: expected a decimal string, got ${value}`);
      else if (schema.format === 'byte' && !/^[A-Za-z0-9_-]*=*$/.test(value)) errors.push(`${path}: expected base64url`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) errors.push(`${path}: expected integer, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${path}: expected boolean`);
      return;
    case 'number':
      if (typeof value !== 'number') errors.push(`${path}: expected number`);
      return;
    default:
      return;
  }
}
