/**
 * The benchmark's LLM server in its own process (so its CPU does not compete with the client's event
 * loop): a scripted OpenAI-compatible server adding DELAY_MS to every call. The rec agent gets the first
 * candidate of its prompt, the user agent always says no (so every user runs all rounds).
 * IPC: sends {url} when listening; answers {type:'stats'} with {calls, maxConcurrent, connections, loopMs}
 * (loopMs = first request received -> last reply sent: the loop's wall time, without data loading).
 */
import { agentOf, promptText, recReply, startServer, userReply } from '../../harness/llmServer';

const DELAY_MS = Number(process.env.AFL_BENCH_DELAY_MS ?? 200);

async function main() {
  let first = 0;
  let last = 0;
  const server = await startServer(async (req) => {
    if (first === 0) first = Date.now();
    await new Promise((r) => setTimeout(r, DELAY_MS));
    last = Date.now();
    if (req.model === 'peer') return { content: 'Reason: peer\nItem: x' };
    if (agentOf(req) === 'rec') {
      const line = /The candidate list of \d+ music artists is: (.*)\.\n/.exec(promptText(req))?.[1] ?? 'none';
      return { content: recReply(line.split(', ')[0]) };
    }
    return { content: userReply(false, 'not my favourite.') };
  });
  process.on('message', async (m: any) => {
    if (m?.type === 'stats')
      process.send!({
        type: 'stats',
        calls: server.calls,
        maxConcurrent: server.maxConcurrent,
        connections: server.connections,
        loopMs: last - first,
      });
    if (m?.type === 'reset') {
      first = 0;
      last = 0;
      server.resetCounters();
      process.send!({ type: 'reset' });
    }
    if (m?.type === 'close') {
      await server.close();
      process.exit(0);
    }
  });
  process.send!({ type: 'ready', url: server.url });
}
main();
