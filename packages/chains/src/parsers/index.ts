export { BaseOutputParser, BaseTransformOutputParser, BaseCumulativeTransformOutputParser, inputText, type ParserInput } from './base.js';
export { StringOutputParser, CommaSeparatedListOutputParser } from './string.js';
export { JsonOutputParser, StructuredOutputParser } from './json.js';
