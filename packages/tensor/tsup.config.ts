import { packageConfig } from '../../tsup.base';

export default packageConfig({ entry: { index: 'src/index.ts', internal: 'src/internal.ts', wasm: 'src/wasm.ts', 'testing/index': 'src/testing/index.ts' } });
