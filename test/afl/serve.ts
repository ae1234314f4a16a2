/**
 * Manual trials: a standalone scripted OpenAI-compatible server on 127.0.0.1 (the one the tests use).
 * "LLM" behaviour: the rec agent repeats the prior it is shown (else the first candidate); the user agent
 * says yes when the item opens the reward model's focus list. Prints the base URL, runs until Ctrl-C.
 *   node --import tsx test/afl/serve.ts [delayMs]
 *   npx flowloop run examples/afl-lastfm.flowloop.json --set agents=llm --set llm.baseURL=<url>
 */
import { agentOf, promptText, recReply, startServer, userReply } from '../../harness/llmServer';

const delayMs = Number(process.argv[2] ?? 0);

async function main() {
  const server = await startServer((req) => {
    const t = promptText(req);
    if (agentOf(req) === 'rec') {
      const prior = /(?:for your reference|another recommendation system is): (.*)\.\n/.exec(t)?.[1];
      const first = /candidate list of \d+ [a-z ]+ is: (.*)\.\n|Given the following \d+ [a-z ]+: (.*), you should/.exec(t);
      const pick = prior ?? (first?.[1] ?? first?.[2] ?? '').split(', ')[0];
      return { content: recReply(pick, 'the scripted test server repeats the prior.'), delayMs };
    }
    const item = /recommended by the recommendation system is: (.*)\.\n/.exec(t)?.[1] ?? '';
    const focus = /focus on considering these [a-z ]+: (.*)\.\n/.exec(t)?.[1] ?? '';
    return { content: userReply(item !== '' && focus.startsWith(item), 'the scripted test server checks the focus list.'), delayMs };
  });
  console.log(server.url);
  process.on('SIGINT', async () => {
    await server.close();
    process.exit(0);
  });
  process.on('SIGTERM', async () => {
    await server.close();
    process.exit(0);
  });
}
main();
