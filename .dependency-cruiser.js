// The dependency rule of src/, checked by `npm run lint` (type-only imports count: a cycle of types is still a cycle).
/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'No import cycles anywhere in src/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-stays-core',
      comment: 'src/core imports nothing of midair outside src/core.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'drivers-in-engines',
      comment: 'Only the engine folders (src/postgres, src/mysql, src/sqlite, src/redis) import a database driver.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(postgres|mysql|sqlite|redis)/' },
      to: { path: '^(node_modules/)?(@types/)?(pg|pg-copy-streams|mysql2|better-sqlite3|ioredis)(/|$)' },
    },
    {
      name: 'queue-library-in-queue',
      comment: 'Only src/queue imports BullMQ: the embedded default (leases in the control store) runs without it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/queue/' },
      to: { path: '(^|/)node_modules/bullmq(/|$)' },
    },
    {
      name: 'metrics-libraries-in-exporters',
      comment:
        'Only src/prometheus imports prom-client and only src/opentelemetry imports OpenTelemetry: the core counts and reads without them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(prometheus|opentelemetry)/' },
      to: { path: '(^|/)node_modules/(prom-client|@opentelemetry/)' },
    },
    {
      name: 'migration-not-cli',
      comment: 'src/migration never imports the CLI, the demo or the config loader.',
      severity: 'error',
      from: { path: '^src/migration/' },
      to: { path: '^src/(cli|demo|config)/' },
    },
    {
      name: 'library-not-cli',
      comment: 'Only the CLI and its dashboard (which runs the commands for its controls) import src/cli.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|dashboard|migration)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'library-not-cli-packages',
      comment:
        'The library never imports the config loader or the demo: they load the packages only the CLI needs (jiti, cli-progress, uplot).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|config|dashboard|demo|migration)/' },
      to: { path: '^src/(config|demo)/' },
    },
    {
      name: 'dashboard-server-in-cli',
      comment:
        'The dashboard server (hono) is the CLI’s: only the CLI imports it; the demo takes the chart types and the built charts’ location.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|dashboard)/' },
      to: { path: '^src/dashboard/', pathNot: '^src/dashboard/(chart-types|built)\\.ts$' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that resolves to nothing would slip past every rule above.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
  },
};
