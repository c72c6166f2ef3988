// What vitest.setup.ts provides to the tests.
declare module 'vitest' {
  export interface ProvidedContext {
    /** a WebGPU adapter answered in Node.js (Dawn) */
    webgpu: boolean;
    /** Debian's chromium is installed for the browser test */
    chromium: boolean;
  }
}

export {};
