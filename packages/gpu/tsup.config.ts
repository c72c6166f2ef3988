import { packageConfig } from '../../tsup.base';

// the public types name GPUDevice/GPUBuffer: point consumers at @webgpu/types
export default packageConfig({ dts: { banner: '/// <reference types="@webgpu/types" />' } });
