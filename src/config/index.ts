/**
 * midair/config — the command line's config files: `defineConfig` for a
 * `midair.config.ts`, and the loader the CLI runs them through.
 *
 * Needs the command line's packages (jiti for `.ts` and `.js` configs);
 * the library itself does not.
 *
 * @example
 * ```ts
 * import { col, sqlMapping } from 'midair';
 * import { defineConfig } from 'midair/config';
 *
 * export default defineConfig({ control: 'sqlite:midair-control.db', migrations: { … } });
 * ```
 */
export { CONFIG_FILES, defineConfig, loadConfig, resolveConfig } from './load-config.js';
export type { ResolvedConfig, ResolvedMigration, ResolvedStore } from './load-config.js';
export type { MidairConfig } from './config-schema.js';
