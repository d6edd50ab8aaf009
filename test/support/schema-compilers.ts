import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

/** Fastify's `schemaController.compilersFactory`: what builds the validators and serializers of route schemas. */
type SchemaCompilers = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/** What Fastify asks a compiler for: one schema of one route part (or one response status). */
interface RouteSchema {
  readonly schema: unknown;
  readonly method?: string;
  readonly url?: string;
  readonly httpPart?: string;
  readonly httpStatus?: string;
  readonly contentType?: string;
}

type Factory = (externalSchemas: any, options: any) => (route: RouteSchema) => unknown;

/**
 * Fastify's own default compilers (Ajv, fast-json-stringify), with what they compile remembered for
 * every app this process builds. The suite builds hundreds of apps from the same route schemas, and
 * compiling them again took about two thirds of each build. A compiled function is reused only for a
 * schema of the same content (its JSON text: what both compilers read) under the same external
 * (addSchema) schemas, compiler options, route, part, response status and content type, so it is the
 * function the app would have compiled itself. A schema holding anything JSON cannot tell apart
 * (a function, a RegExp, undefined…) is compiled afresh. Route plugins make new schema objects for
 * every app, so the object alone would rarely match.
 *
 * One difference from Fastify's defaults: Fastify lower-cases a `headers` schema's names only for
 * its default validator, and counts a supplied one as custom; such a schema is refused here rather
 * than compiled differently (no route has one).
 */
export const sharedSchemaCompilers: SchemaCompilers = {
  buildValidator: remembering(AjvCompiler() as Factory) as SchemaCompilers['buildValidator'],
  buildSerializer: remembering(SerializerSelector() as Factory) as SchemaCompilers['buildSerializer'],
};

function remembering(build: Factory): Factory {
  const compiled = new Map<string, unknown>();
  const contexts = new Map<string, number>(); // external schemas and options, by a short number
  return (externalSchemas, options) => {
    let compile: ((route: RouteSchema) => unknown) | undefined;
    const compileHere = (route: RouteSchema) => (compile ??= build(externalSchemas, options))(route);
    const context = fingerprint([externalSchemas ?? null, options ?? null]);
    if (context !== undefined && !contexts.has(context)) contexts.set(context, contexts.size);
    return (route) => {
      if (route.httpPart === 'headers') throw new Error(`${route.method} ${route.url}: a headers schema needs Fastify's default validator`);
      const schema = fingerprint(route.schema);
      if (context === undefined || schema === undefined) return compileHere(route);
      const key = JSON.stringify([contexts.get(context), route.method, route.url, route.httpPart, route.httpStatus, route.contentType, schema]);
      if (!compiled.has(key)) compiled.set(key, compileHere(route));
      return compiled.get(key);
    };
  };
}

/** The value's JSON text, or undefined when JSON would lose something in it (a function, a class instance…). */
function fingerprint(value: unknown): string | undefined {
  let faithful = true;
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key, replaced: unknown) {
    const original = key === '' ? value : this[key];
    if (original === null || typeof original === 'string' || typeof original === 'boolean') return replaced;
    if (typeof original === 'number') faithful &&= Number.isFinite(original);
    else if (typeof original !== 'object') faithful = false; // undefined, function, symbol, bigint
    else if (!Array.isArray(original) && ![Object.prototype, null].includes(Object.getPrototypeOf(original))) faithful = false;
    return replaced;
  });
  return faithful ? text : undefined;
}
