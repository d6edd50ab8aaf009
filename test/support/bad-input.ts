import fc from 'fast-check';

/**
 * Bad input for one route of the OpenAPI document, built from the route's own schemas so that
 * every case is invalid by construction where it has to be (a case that happened to be valid could
 * change the database, and the fuzz test asserts that nothing does).
 */

/** The parts of a JSON Schema the generators read. */
export interface Schema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly anyOf?: readonly Schema[];
  readonly maxLength?: number;
  readonly minLength?: number;
  readonly pattern?: string;
  readonly format?: string;
}

export interface Parameter {
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly name: string;
  readonly schema: Schema;
}

/** One operation of the document: `GET /personas/{id}`, its parameters and its JSON body schema. */
export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body: Schema | undefined;
}

/** A request to send. `mustFail`: the input is invalid by construction, so only a 4xx is right. */
export interface BadRequest {
  readonly kind: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload: string | undefined;
  readonly mustFail: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Odd unicode: lone surrogates, controls, NUL, bidi overrides, zero-width joiners, combining marks, emoji. */
const oddUnicode = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '\u200d\u200b', 'a\u0301\u0301\u0301', '😀👨‍👩‍👧', '\uffff', '\r\n', '%00', '../..', '\u0130', 'ǅ'),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

const hugeString = fc.integer({ min: 1_000, max: 20_000 }).chain((length) => fc.constantFrom('x', 'é', '𝔘').map((unit) => unit.repeat(length)));

const anyString = fc.oneof(oddUnicode, hugeString, fc.string({ maxLength: 30 }));

/** Does the value satisfy this string schema (the checks path parameters use)? */
function fits(schema: Schema, value: string): boolean {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) return false;
  if (schema.maxLength !== undefined && length > schema.maxLength) return false;
  if (schema.format === 'uuid' && !UUID.test(value)) return false;
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return false;
  return true;
}

/** A value the parameter accepts but that names nothing (so a body's validity is what is tested). */
function harmlessParam(schema: Schema): string {
  const candidates = ['00000000-0000-4000-8000-000000000000', 'zzfuzz', 'no_such_thing', '0'.repeat(32), 'A'.repeat(22), 'nobody'];
  return candidates.find((value) => fits(schema, value)) ?? 'x';
}

/** Every UTF-8 byte percent-encoded (a lone surrogate becomes U+FFFD, as a client would send it). */
function percentEncoded(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

/** A path parameter value; for a route that may write, one the schema refuses (else it could act). */
function badParam(schema: Schema, mayWrite: boolean): fc.Arbitrary<{ raw: string; invalid: boolean }> {
  const encoded = anyString
    .filter((value) => value.length > 0)
    .map((value) => ({ raw: percentEncoded(value), decoded: Buffer.from(value, 'utf8').toString('utf8') }));
  // Broken percent-encodings reach the router undecodable.
  const broken = fc.constantFrom('%', '%ff', '%c3%28', '%E0%80%AF', '%u0041').map((raw) => ({ raw, decoded: raw }));
  return fc
    .oneof(encoded, broken)
    .filter(({ decoded }) => !mayWrite || !fits(schema, decoded))
    .map(({ raw, decoded }) => ({ raw, invalid: !fits(schema, decoded) }));
}

const jsonOfOtherType = (types: readonly string[]) =>
  fc
    .oneof(
      fc.integer().map((value) => ({ type: 'integer', value: value as unknown })),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter((value) => !Number.isInteger(value)).map((value) => ({ type: 'number', value: value as unknown })),
      anyString.map((value) => ({ type: 'string', value: value as unknown })),
      fc.boolean().map((value) => ({ type: 'boolean', value: value as unknown })),
      fc.constant({ type: 'null', value: null as unknown }),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }).map((value) => ({ type: 'array', value: value as unknown })),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((value) => ({ type: 'object', value: value as unknown })),
    )
    // An integer is a number too.
    .filter(({ type }) => !types.includes(type) && !(type === 'integer' && types.includes('number')))
    .map(({ value }) => value);

const typesOf = (schema: Schema): readonly string[] | undefined =>
  schema.type === undefined ? undefined : typeof schema.type === 'string' ? [schema.type] : schema.type;

/** Property names no branch of the schema declares, for junk keys. */
function junkKeys(body: Schema): fc.Arbitrary<Record<string, unknown>> {
  const declared = new Set([body, ...(body.anyOf ?? [])].flatMap((branch) => Object.keys(branch.properties ?? {})));
  return fc.dictionary(
    fc.oneof(oddUnicode, fc.string({ maxLength: 12 })).filter((key) => !declared.has(key) && key !== '__proto__'),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 5 },
  );
}

/** JSON bodies the schema refuses, every one of them. */
function invalidBodies(body: Schema): fc.Arbitrary<{ kind: string; value: unknown }>[] {
  const branches = body.anyOf ?? [body];
  const arbitraries: fc.Arbitrary<{ kind: string; value: unknown }>[] = [
    // Every branch wants an object.
    jsonOfOtherType(['object']).map((value) => ({ kind: 'body: not an object', value })),
  ];
  if (branches.every((branch) => (branch.required ?? []).length > 0)) {
    arbitraries.push(junkKeys(body).map((value) => ({ kind: 'body: required fields missing', value })));
  }
  if (!body.anyOf) {
    for (const [name, property] of Object.entries(body.properties ?? {})) {
      const types = typesOf(property);
      if (types) arbitraries.push(jsonOfOtherType(types).map((value) => ({ kind: `body: ${name} of a wrong type`, value: { [name]: value } })));
      if (property.maxLength !== undefined && types?.includes('string')) {
        const tooLong = property.maxLength + 1;
        arbitraries.push(
          fc.tuple(fc.integer({ min: 0, max: 50 }), oddUnicode).map(([extra, tail]) => ({
            kind: `body: ${name} too long`,
            value: { [name]: 'x'.repeat(tooLong + extra) + tail },
          })),
        );
      }
    }
  }
  return arbitraries;
}

/** Text that is not JSON (or is, but poisoned): refused by the parser, before any handler. */
const notJson = fc.oneof(
  fc.string({ maxLength: 40 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }),
  fc.constantFrom('{', '{"a":', '[1,,2]', 'nul', '{"a":1}}', '\u0000', '\ufeff{}x', '{"__proto__":{"admin":true}}', "{'a':1}", '{"a":1,}'),
);

/** Content types the service has no parser for: refused (415) on every route, body or not. */
const foreignContentType = fc.constantFrom(
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'image/png',
  'application/octet-stream',
);

const JSON_TYPE = { 'content-type': 'application/json' };

/** Every kind of bad request that applies to the operation. */
export function badRequests(operation: Operation, bodyLimitBytes: number): fc.Arbitrary<BadRequest> {
  const mayWrite = operation.method !== 'GET';
  const pathParams = operation.parameters.filter((parameter) => parameter.in === 'path');
  const queryParams = operation.parameters.filter((parameter) => parameter.in === 'query');
  const fill = (values: Record<string, string>) => operation.path.replace(/\{([^}]+)\}/g, (_match, name: string) => values[name] ?? 'x');
  const harmlessPath = fill(Object.fromEntries(pathParams.map((parameter) => [parameter.name, encodeURIComponent(harmlessParam(parameter.schema))])));
  const kinds: fc.Arbitrary<BadRequest>[] = [];

  if (pathParams.length > 0) {
    kinds.push(
      fc.tuple(...pathParams.map((parameter) => badParam(parameter.schema, mayWrite))).map((values) => ({
        kind: 'bad path parameter',
        url: fill(Object.fromEntries(pathParams.map((parameter, index) => [parameter.name, values[index]?.raw ?? 'x']))),
        headers: {},
        payload: undefined,
        mustFail: mayWrite,
      })),
    );
  }
  if (!mayWrite) {
    // Declared parameters with wrong values, and undeclared ones, huge or odd.
    const names = fc.oneof(...[...queryParams.map((parameter) => fc.constant(parameter.name)), fc.string({ maxLength: 10 })]);
    kinds.push(
      fc.array(fc.tuple(names, anyString), { minLength: 1, maxLength: 4 }).map((pairs) => ({
        kind: 'bad query',
        url: `${harmlessPath}?${new URLSearchParams(pairs).toString()}`,
        headers: {},
        payload: undefined,
        mustFail: false,
      })),
    );
    return fc.oneof(...kinds);
  }

  // Routes that take a body and routes that do not: the parser refuses these before any handler.
  kinds.push(
    notJson.map((payload) => ({ kind: 'bad JSON', url: harmlessPath, headers: JSON_TYPE, payload, mustFail: true })),
    fc.constant(null).map(() => ({
      kind: 'body over the limit',
      url: harmlessPath,
      headers: JSON_TYPE,
      payload: JSON.stringify({ a: 'x'.repeat(bodyLimitBytes + 1) }),
      mustFail: true,
    })),
    fc.tuple(foreignContentType, fc.string({ minLength: 1, maxLength: 40 })).map(([type, payload]) => ({
      kind: `content type ${type}`,
      url: harmlessPath,
      headers: { 'content-type': type },
      payload,
      mustFail: true,
    })),
  );
  if (operation.body) {
    const bodies = fc.oneof(...invalidBodies(operation.body));
    kinds.push(
      bodies.map(({ kind, value }) => ({ kind, url: harmlessPath, headers: JSON_TYPE, payload: JSON.stringify(value), mustFail: true })),
      // A JSON object sent as text/plain arrives as a string, which no body schema accepts.
      bodies.map(({ value }) => ({ kind: 'JSON sent as text/plain', url: harmlessPath, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(value), mustFail: true })),
      fc.constant(null).map(() => ({
        kind: 'constructor poisoning',
        url: harmlessPath,
        headers: JSON_TYPE,
        payload: '{"constructor":{"prototype":{"admin":true}}}',
        mustFail: true,
      })),
    );
  }
  return fc.oneof(...kinds);
}

/** Printable ASCII (what a header may carry), biased towards the characters parsers trip on. */
const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 200 }),
  fc.constantFrom('', ' ', ';;;', '=', 'a=b=c', '"quoted"', 'anon_id=', 'anon_id=.', 'anon_id=%ff', '__Host-session=' + 'A'.repeat(4000)),
);

/** Forged or malformed credentials and request metadata: cookies, bearer tokens, correlation ids, origins. */
export const forgedHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    cookie: fc.oneof(headerText, headerText.map((value) => `anon_id=${value}`), headerText.map((value) => `__Host-session=${value}`)),
    authorization: fc.oneof(headerText, headerText.map((value) => `Bearer ${value}`), fc.constantFrom('Bearer', 'Basic Zm9vOmJhcg==', 'Bearer pk_admin_', 'Bearer pk_app_x')),
    'x-correlation-id': headerText,
    origin: fc.oneof(headerText, fc.constantFrom('null', 'https://evil.example', 'http://localhost:3000')),
    'sec-fetch-site': fc.constantFrom('cross-site', 'same-site', 'none', 'same-origin', '???'),
  },
  { requiredKeys: [] },
);

/** The schema fields the shape-valid generator reads besides those of `Schema`. */
interface FullSchema extends Schema {
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly items?: FullSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly properties?: Readonly<Record<string, FullSchema>>;
  readonly anyOf?: readonly FullSchema[];
}

/** Strings the schema's length (and pattern, where fast-check can read it) allows, of any code points. */
function stringFor(schema: FullSchema): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.pattern !== undefined) {
    try {
      const pattern = new RegExp(schema.pattern);
      return fc.stringMatching(pattern).filter((value) => fits(schema, value));
    } catch {
      // A pattern fast-check cannot generate from (lookaheads): any string, usually refused.
    }
  }
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 40, 40));
  // Any code point, and often the ones that trip storage and parsers: NUL, lone surrogates, bidi and
  // joiner controls, quotes, backslashes, percent signs, markup.
  const tricky = fc.constantFrom('\u0000', '\ud800', '\udc00', '\u202e', '\u200d', '\ufeff', 'é', '😀', '\\', '"', "'", '%', '<', 'a', '_', '0', ' ');
  return fc.oneof(fc.string({ unit: 'binary', minLength, maxLength }), fc.string({ unit: tricky, minLength, maxLength }));
}

/**
 * Values of the schema's shape: the right types, lengths, enums and required fields, with odd
 * content (any code point, extreme numbers). Many are still refused by rules beyond the schema; the
 * rest act, so the database may change.
 */
export function shapeValid(schema: FullSchema | undefined): fc.Arbitrary<unknown> {
  if (!schema) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(shapeValid));
  const type = typeof schema.type === 'string' ? schema.type : schema.type?.[0];
  switch (type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(shapeValid(schema.items), { minLength: schema.minItems ?? 0, maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)) });
    case 'object': {
      const properties = schema.properties ?? {};
      if (Object.keys(properties).length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
      return fc.record(Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, shapeValid(property)])), {
        requiredKeys: [...(schema.required ?? [])],
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A request of the operation's shape: path parameters in range, a shape-valid body and query. */
export function shapeValidRequest(operation: Operation): fc.Arbitrary<BadRequest> {
  const pathParams = operation.parameters.filter((parameter) => parameter.in === 'path');
  const queryParams = operation.parameters.filter((parameter) => parameter.in === 'query');
  const params = fc.tuple(...pathParams.map((parameter) => fc.oneof(fc.constant(harmlessParam(parameter.schema)), stringFor(parameter.schema))));
  const query = fc.tuple(...queryParams.map((parameter) => fc.option(stringFor(parameter.schema), { nil: undefined })));
  return fc.tuple(params, query, operation.body ? shapeValid(operation.body) : fc.constant(undefined)).map(([values, queryValues, body]) => {
    const path = operation.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
      const value = values[pathParams.findIndex((parameter) => parameter.name === name)];
      return percentEncoded(value ?? 'x');
    });
    const search = new URLSearchParams(
      queryParams.flatMap((parameter, index): [string, string][] => {
        const value = queryValues[index];
        return value === undefined ? [] : [[parameter.name, value]];
      }),
    );
    return {
      kind: 'shape-valid input',
      url: search.size > 0 ? `${path}?${search.toString()}` : path,
      headers: body === undefined ? {} : JSON_TYPE,
      payload: body === undefined ? undefined : JSON.stringify(body),
      mustFail: false,
    };
  });
}
