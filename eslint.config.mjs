import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/dist', '**/node_modules', '**/gen/**', '.kafka/**', '.nx/**', 'data/**'] },
  ...tseslint.configs.recommended,
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      // Apps depend on libs; libs never on apps or tools; tools may use libs. The producers write messages
      // with the codecs of libs/schema (the wire format) and depend on no consumer's domain lib, not even
      // through another project: mean-rating is the processor's (issue 20).
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:tool'] },
            { sourceTag: 'role:producer', notDependOnLibsWithTags: ['domain:mean-rating'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-require-imports': 'off',
      // One Kafka seam: only libs/messaging talks to KafkaJS, and it loads KafkaJS only through its
      // kafkajs.ts, which puts the client's fix in place first. Others use @movie-stream/messaging
      // (its factory, operations and types: KafkaClient, KafkaAdmin, OutgoingMessage, ConsumedMessage, ...).
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kafkajs',
              message: "Only libs/messaging uses KafkaJS: import from '@movie-stream/messaging' (inside libs/messaging: './kafkajs').",
            },
            {
              name: '@platformatic/kafka',
              message:
                "Only libs/messaging uses a Kafka client: import from '@movie-stream/messaging' (inside libs/messaging: its platformatic-backend.ts).",
            },
            // One PostgreSQL seam: libs/movie-db holds the pool, the migrations and every SQL statement.
            { name: 'pg', message: "Only libs/movie-db uses PostgreSQL's driver: import from '@movie-stream/movie-db'." },
          ],
          patterns: [
            { group: ['kafkajs/*'], message: "KafkaJS internals are libs/messaging's business (see its kafkajs-fix.ts)." },
            { group: ['pg/*', 'pg-*'], message: "PostgreSQL's driver is libs/movie-db's business: import from '@movie-stream/movie-db'." },
            // A project is used through its public entry (index.ts), never by reaching into its src/.
            {
              group: ['@movie-stream/*/src', '@movie-stream/*/src/*'],
              message: "Import the project's public entry, '@movie-stream/<name>'.",
            },
          ],
        },
      ],
    },
  },
  // The seam's one door to KafkaJS.
  { files: ['libs/messaging/src/kafkajs.ts'], rules: { 'no-restricted-imports': 'off' } },
  // ... and to @platformatic/kafka (the Publisher's other backend; its test reads back with KafkaJS's helpers).
  {
    files: ['libs/messaging/src/platformatic-backend.ts', 'libs/messaging/src/platformatic-backend.*test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'kafkajs', message: "Inside libs/messaging KafkaJS is loaded through './kafkajs'." }],
          patterns: [{ group: ['kafkajs/*'], message: "KafkaJS internals are libs/messaging's business (see its kafkajs-fix.ts)." }],
        },
      ],
    },
  },
  // The PostgreSQL seam: its files may import pg (the project-entry rule still applies to them).
  {
    files: ['libs/movie-db/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'kafkajs', message: "Only libs/messaging uses KafkaJS: import from '@movie-stream/messaging'." }],
          patterns: [
            { group: ['kafkajs/*'], message: "KafkaJS internals are libs/messaging's business." },
            {
              group: ['@movie-stream/*/src', '@movie-stream/*/src/*'],
              message: "Import the project's public entry, '@movie-stream/<name>'.",
            },
          ],
        },
      ],
    },
  },
];
