export * from './creation.js';
export * from './random.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './movement.js';
export * from './matmul.js';
export * from './conv.js';
export * from './indexing.js';
