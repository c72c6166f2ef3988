import { describe, expect, it } from 'vitest';
import { runConformance } from './index.js';

runConformance({ describe, it, expect }, { device: 'cpu' });
