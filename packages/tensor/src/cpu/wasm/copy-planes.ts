// Plane copies in kernel memory over the worker threads (conv's padding, regrouping and cropping).
import { dispatch, getNumThreads, params } from './pool.js';
import { JOB, P } from './tasks.js';

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * Copies `planes` planes of rows x len floats (row strides ss/ds, plane strides sp/dp, in floats;
 * addresses in bytes) across the threads.
 */
export function copyPlanes(planes: number, src: number, sp: number, ss: number, dst: number, dp: number, ds: number, rows: number, len: number): void {
  const threads = planes * rows * len >= 1 << 16 ? getNumThreads() : 1;
  const per = Math.max(1, ceilDiv(planes, 4 * threads));
  const q = params();
  q[P.KIND] = JOB.COPY;
  q[P.SRC] = src;
  q[P.SP] = sp;
  q[P.SS] = ss;
  q[P.DST] = dst;
  q[P.DP] = dp;
  q[P.DS] = ds;
  q[P.ROWS_N] = rows;
  q[P.LEN] = len;
  q[P.PLANES] = planes;
  q[P.PLANES_TASK] = per;
  dispatch(ceilDiv(planes, per), threads);
}
