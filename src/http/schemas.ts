import Type, { type TObject, type TProperties } from 'typebox';

export const CorrelationId = Type.String({ description: 'The id of this request, also in the X-Correlation-Id header.' });

/** Every error body: a stable code to branch on, a message for people, and the request's id. */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$', examples: ['VALIDATION_FAILED'] }),
    message: Type.String(),
    correlationId: CorrelationId,
  },
  { $id: 'ErrorBody', additionalProperties: false },
);

/** A response body: the given properties plus `correlationId`, and nothing else (serialization drops extras). */
export function body<P extends TProperties>(properties: P, description?: string) {
  return Type.Object({ ...properties, correlationId: CorrelationId }, {
    additionalProperties: false,
    ...(description ? { description } : {}),
  }) as TObject<P & { correlationId: typeof CorrelationId }>;
}

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, Type.Ref('ErrorBody')]));
