import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';

export const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Builds the page (as `pnpm --filter @dl/playground build` does) and serves dist/ with Vite's
 * preview server, which sends the COOP/COEP headers of vite.config.ts; resolves with the URL.
 */
export async function buildAndServe(): Promise<{ url: string; server: PreviewServer }> {
  await build({ root, configFile: `${root}vite.config.ts`, logLevel: 'warn' });
  const server = await preview({ root, configFile: `${root}vite.config.ts`, logLevel: 'warn', preview: { port: 0, host: 'localhost', open: false } });
  const addr = server.httpServer.address();
  if (addr === null || typeof addr === 'string') throw new Error(`preview server address: ${String(addr)}`);
  return { url: `http://localhost:${addr.port}/`, server };
}
