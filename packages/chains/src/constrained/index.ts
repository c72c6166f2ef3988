/**
 * Constrained decoding of JSON: a JSON-Schema subset compiled to a byte-level automaton, and a
 * token-level decoder that masks a model's logits so any tokenizer writes only valid JSON.
 */
export { compileJsonSchema, SchemaError, type SchemaNode, type ObjectNode, type ArrayNode } from './schema.js';
export { JsonAutomaton, minValue, NUMBER_LIMITS, type JsonState } from './json-automaton.js';
export { TokenVocabulary, JsonDecoder, ConstraintError, type TokenizerLike, type JsonDecoderOptions } from './token-constraint.js';
