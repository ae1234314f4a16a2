// code-server's parent process, for tests on a busy machine: code-server's own parent (out/node/wrapper.js)
// forks the server and gives the child 10 s to say "handshake" (not configurable); on a loaded CI machine
// the child can need longer just to load its modules, and code-server exits 1 "error timed out". This
// parent does the same handshake without a time limit: it parses the arguments with code-server's own
// cli.js (as its parent does), forks out/node/entry.js as the child (CODE_SERVER_PARENT_PID = this process),
// answers the child's handshake with those arguments, relays its output, and ends when it ends (or ends it
// on SIGTERM/SIGINT). Usage: node codeServerParent.cjs <code-server package dir> <code-server arguments…>
'use strict';
const { fork } = require('node:child_process');
const { join } = require('node:path');

const [dir, ...argv] = process.argv.slice(2);
const cli = require(join(dir, 'out', 'node', 'cli.js'));

(async () => {
  const cliArgs = cli.parse(argv);
  const args = await cli.setDefaults(cliArgs, await cli.readConfigFile(cliArgs.config));
  const child = fork(join(dir, 'out', 'node', 'entry.js'), [], {
    env: { ...process.env, CODE_SERVER_PARENT_PID: String(process.pid), NODE_EXEC_PATH: process.execPath },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (m) => {
    if (m && m.type === 'handshake') child.send({ type: 'handshake', args });
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const sig of ['SIGTERM', 'SIGINT'])
    process.on(sig, () => {
      child.kill(sig);
    });
})().catch((e) => {
  console.error(`codeServerParent: ${e.message}`);
  process.exit(1);
});
