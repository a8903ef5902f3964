/**
 * Fails when any import cycle exists among the workspace's TypeScript sources (DESIGN.md rule 5).
 * dpdm follows `import` statements, including type-only ones: a type cycle is still a design cycle.
 */
import { parseCircular, parseDependencyTree, prettyCircular } from 'dpdm';

const tree = await parseDependencyTree(['packages/*/src/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'], {
  context: process.cwd(),
  transform: false,
  skipDynamicImports: false,
  include: /\.ts$/,
  exclude: /node_modules/,
});
const cycles = parseCircular(tree);
if (cycles.length > 0) {
  console.error(`Import cycles found (${cycles.length}):\n${prettyCircular(cycles)}`);
  process.exit(1);
}
console.log(`No import cycles in ${Object.keys(tree).length} modules.`);
