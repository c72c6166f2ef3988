import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * Vite aliases that resolve `@dl/<pkg>`, `@dl/<pkg>/internal`, `@dl/<pkg>/testing` and `@dl/<pkg>/wasm` to the
 * sources in packages/<pkg>/src, so tests run against the code beside them and need no build.
 * Every vitest.config.ts of the workspace uses it; a new package is picked up by its folder.
 */
export function sourceAliases(): { find: RegExp; replacement: string }[] {
  const out: { find: RegExp; replacement: string }[] = [];
  for (const name of readdirSync(packages).sort()) {
    const src = `${packages}${name}/src/`;
    if (!existsSync(`${src}index.ts`)) continue;
    const entries: [string, string][] = [
      ['internal', `${src}internal.ts`],
      ['testing', `${src}testing/index.ts`],
      ['wasm', `${src}wasm.ts`],
    ];
    for (const [sub, file] of entries) if (existsSync(file)) out.push({ find: new RegExp(`^@dl/${name}/${sub}$`), replacement: file });
    out.push({ find: new RegExp(`^@dl/${name}$`), replacement: `${src}index.ts` });
  }
  return out;
}
